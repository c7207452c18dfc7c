"""Which provider serves a gateway request's ``model``, with no database trip.

- ``provider/model`` names both (``openai_compatible/meta-llama/llama-3`` keeps
  the rest of the name whole, as OpenRouter ids need);
- a catalog model goes to the first provider serving it for which the caller
  holds a key (own or global), else to its first provider (which then answers
  api_key_not_found);
- any other name goes to the caller's OpenAI-compatible server, if they have one.
"""

from __future__ import annotations

from functools import lru_cache

from aihub.calls.client import Target
from aihub.catalog import service as catalog_service
from aihub.core.errors import NotFoundError
from aihub.provider_keys.pool import KeyPool
from aihub.providers.registry import PROVIDERS

OPEN_SERVER = "openai_compatible"


class ModelNotFoundError(NotFoundError):
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


async def route_model(pool: KeyPool, *, user_id: int, model: str) -> Target:
    if not model:
        raise ModelNotFoundError(model)
    prefix, sep, rest = model.partition("/")
    if sep and rest and prefix in PROVIDERS:
        if await _open_server_instead(pool, user_id, prefix):
            return Target(OPEN_SERVER, model)  # e.g. OpenRouter's "openai/gpt-4o"
        return Target(prefix, rest)
    providers = serving_providers(model)
    for provider in providers:
        if await pool.has_keys(provider, user_id=user_id):
            return Target(provider, model)
    if await pool.has_keys(OPEN_SERVER, user_id=user_id):
        return Target(OPEN_SERVER, model)
    if providers:
        return Target(providers[0], model)
    raise ModelNotFoundError(model)
