"""Which provider serves a gateway request's ``model``, with no database trip.

- ``provider/model`` names both (``openai_compatible/meta-llama/llama-3`` keeps
  the rest of the name whole, as OpenRouter ids need);
- a catalog model goes to the first provider serving it for which the caller
  holds a key (own or global), else to its first provider (which then answers
  api_key_not_found);
- any other name goes to the caller's OpenAI-compatible server when that server
  lists it (its /models, cached: provider_keys.discovery); so does a catalog
  model whose own provider they hold no key for. A name nobody serves is a 404
  ``model_not_found``: no server silently answers for a model it does not have
  (and gets charged at that model's price).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.calls.client import Target
from aihub.catalog import service as catalog_service
from aihub.core.errors import NotFoundError
from aihub.provider_keys.discovery import ModelDiscovery
from aihub.provider_keys.pool import KeyPool
from aihub.providers.registry import PROVIDERS

OPEN_SERVER = "openai_compatible"


Listed = Callable[[], Awaitable[Collection[str]]]


class ModelNotFoundError(NotFoundError):
    error_type = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(
            f"The model `{model}` does not exist or you do not have access to it."
        )


@lru_cache(maxsize=4096)
def serving_providers(model: str) -> tuple[str, ...]:
    """Providers whose own catalog rows list the model."""
    return tuple(
        provider
        for provider in PROVIDERS
        if (info := catalog_service.find_model(provider, model)) is not None
        and info.provider == provider
    )


async def _open_server_instead(pool: KeyPool, user_id: int, provider: str) -> bool:
    """A "provider/..." name the user can only reach through their own server."""
    return (
        provider != OPEN_SERVER
        and not await pool.has_keys(provider, user_id=user_id)
        and await pool.has_keys(OPEN_SERVER, user_id=user_id)
    )


def listed_by_servers(
    discovery: ModelDiscovery,
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: int,
) -> Listed:
    """The model ids the caller's OpenAI-compatible servers list (asked only
    when routing needs them)."""

    async def listed() -> set[str]:
        async with sessionmaker() as session:
            pairs = await discovery.models(session, user_id=user_id)
        return {model for provider, model in pairs if provider == OPEN_SERVER}

    return listed


async def _server_lists(listed: Listed | None, model: str) -> bool:
    return listed is None or model in await listed()


async def route_model(
    pool: KeyPool, *, user_id: int, model: str, listed: Listed | None = None
) -> Target:
    """``listed``: what the caller's servers offer; None trusts them with any
    name (the old rule, for callers that cannot ask)."""
    if not model:
        raise ModelNotFoundError(model)
    prefix, sep, rest = model.partition("/")
    if sep and rest and prefix in PROVIDERS:
        if await _open_server_instead(pool, user_id, prefix):
            if not await _server_lists(listed, model):
                raise ModelNotFoundError(model)
            return Target(OPEN_SERVER, model)  # e.g. OpenRouter's "openai/gpt-4o"
        return Target(prefix, rest)
    providers = serving_providers(model)
    for provider in providers:
        if await pool.has_keys(provider, user_id=user_id):
            return Target(provider, model)
    if await pool.has_keys(OPEN_SERVER, user_id=user_id) and await _server_lists(
        listed, model
    ):
        return Target(OPEN_SERVER, model)
    if providers:
        return Target(providers[0], model)
    raise ModelNotFoundError(model)
