"""Which models a caller can actually be served, for GET /v1/models (OpenAI's
and Anthropic's shapes) and GET /api/models/available?served=true.

A model is listed when a call for it would reach a provider with a key the
caller may use (their own or a global one):
- a catalog model of a provider they hold a key for (a model several providers
  serve is listed once, for the first of them, as routing picks it);
- a model that one of their OpenAI-compatible servers lists (its /models);
- a model named in ``AIHUB_MODEL_FALLBACKS`` whose fallbacks they can reach.
A gateway key's allowed models filter the list further (gateway.limits).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.catalog.loader import load_catalog
from aihub.catalog.schemas import ModelInfo
from aihub.provider_keys.discovery import ModelDiscovery
from aihub.provider_keys.pool import KeyPool
from aihub.providers.registry import PROVIDERS

GATEWAY_KINDS = ("chat", "embedding")


@dataclass(frozen=True, slots=True)
class ServedModel:
    id: str
    provider: str
    info: ModelInfo | None = None


async def providers_with_keys(pool: KeyPool, *, user_id: int) -> set[str]:
    return {p for p in PROVIDERS if await pool.has_keys(p, user_id=user_id)}


async def served_models(
    session: AsyncSession,
    *,
    pool: KeyPool,
    discovery: ModelDiscovery,
    fallbacks: Mapping[str, Sequence[str]],
    user_id: int,
    kinds: Collection[str] | None = GATEWAY_KINDS,
) -> list[ServedModel]:
    """Catalog models first (catalog order), then discovered ones, then
    fallback names (``AIHUB_MODEL_FALLBACKS``); each id once."""
    keyed = await providers_with_keys(pool, user_id=user_id)
    rows: dict[str, ServedModel] = {}
    for info in load_catalog().models:
        if info.provider in keyed and (kinds is None or info.kind in kinds):
            rows.setdefault(info.id, ServedModel(info.id, info.provider, info))
    if kinds is None or "chat" in kinds:
        for provider, model_id in await discovery.models(session, user_id=user_id):
            name = model_id.strip()
            if name:
                rows.setdefault(name, ServedModel(name, provider))
        for model, provider in _fallback_names(fallbacks, keyed):
            rows.setdefault(model, ServedModel(model, provider))
    return list(rows.values())


def _split(text: str) -> tuple[str, str] | None:
    provider, sep, model = text.partition("/")
    if not sep or not provider.strip() or not model.strip():
        return None
    return provider.strip(), model.strip()


def _fallback_names(
    fallbacks: Mapping[str, Sequence[str]], keyed: set[str]
) -> list[tuple[str, str]]:
    """(model, provider) of every "provider/model" in the fallback setting that
    it or one of its fallbacks can serve."""
    names: list[tuple[str, str]] = []
    for source, targets in fallbacks.items():
        primary = _split(source)
        if primary is None:
            continue
        providers = {primary[0]} | {
            parsed[0] for t in targets if (parsed := _split(t)) is not None
        }
        if providers & keyed:
            names.append((primary[1], primary[0]))
    return names
