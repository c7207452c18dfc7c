"""Which model answers: the one asked for, the thread's, or the user's default.

Order: an explicit provider and model; an explicit model alone (the catalog
says which provider serves it, preferring one the user holds a key for); the
thread's provider/model; the user's default model preference (of the given
provider, else any); the provider's default model; and with nothing at all,
the first provider the user holds a key for (own keys before global ones).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.catalog import service as catalog_service
from aihub.chat.llm import Target
from aihub.core.errors import ApiKeyNotFoundError, ValidationFailedError
from aihub.preferences import service as preferences_service
from aihub.provider_keys import service as keys_service
from aihub.providers.registry import PROVIDERS
from aihub.users.models import User

OPEN_SERVER = "openai_compatible"
DEFAULT_MODELS = {
    "openai": "gpt-4o-mini",
    "azure": "gpt-4o-mini",
    "anthropic": "claude-haiku-4-5",
    "qwen": "qwen-plus",
    "gemini": "gemini-2.5-flash",
    "bedrock": "us.anthropic.claude-haiku-4-5-20251001-v1:0",
}


def _check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise ValidationFailedError(
            f"Unknown provider {provider!r}; one of: {', '.join(PROVIDERS)}"
        )
    return provider


async def _key_providers(session: AsyncSession, user: User) -> list[str]:
    """Providers the user can call, their own keys' first."""
    keys = await keys_service.list_usable_keys(session, user_id=user.id)
    own = [k.provider for k in keys if k.user_id == user.id]
    shared = [k.provider for k in keys if k.user_id != user.id]
    return list(dict.fromkeys([*own, *shared]))


def _default_model(provider: str) -> str:
    default = DEFAULT_MODELS.get(provider)
    if default is None:
        raise ValidationFailedError(
            f"Name a model: {provider} has no default model (its server lists them)"
        )
    return default


async def resolve_target(
    session: AsyncSession,
    *,
    user: User,
    provider: str | None = None,
    model: str | None = None,
    thread_provider: str | None = None,
    thread_model: str | None = None,
) -> Target:
    if provider and model:
        return Target(_check_provider(provider), model)
    if model:
        return Target(await _provider_for(session, user, model), model)
    if not provider and thread_provider and thread_model:
        return Target(_check_provider(thread_provider), thread_model)
    provider = provider or thread_provider
    preference = await preferences_service.default_for(
        session, user=user, provider=provider
    )
    if preference is not None:
        return Target(_check_provider(preference.provider), preference.model)
    if provider:
        return Target(
            _check_provider(provider), thread_model or _default_model(provider)
        )
    for candidate in await _key_providers(session, user):
        if candidate in DEFAULT_MODELS:
            return Target(candidate, DEFAULT_MODELS[candidate])
    raise ApiKeyNotFoundError(
        "No model given and no provider key to choose one: add a key at "
        "/api/api-keys/ or name a provider and model"
    )


async def _provider_for(session: AsyncSession, user: User, model: str) -> str:
    serving = _serving(model)
    if not serving:
        held = await _key_providers(session, user)
        if held:
            return held[0]
        raise ValidationFailedError(f"Unknown model {model!r}: name its provider")
    held = await _key_providers(session, user)
    for provider in held:
        if provider in serving:
            return provider
    if OPEN_SERVER in held:  # e.g. the model through OpenRouter or a local server
        return OPEN_SERVER
    return serving[0]


def _serving(model: str) -> Sequence[str]:
    """Providers whose own catalog rows list the model (find_model also prices
    a model through another provider's row, which says nothing of serving)."""
    return [
        provider
        for provider in PROVIDERS
        if (info := catalog_service.find_model(provider, model)) is not None
        and info.provider == provider
    ]
