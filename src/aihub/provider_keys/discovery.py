"""Models a user's OpenAI-compatible servers offer (their ``/models``), for
GET /api/models/available. Lists are cached a few minutes per key; a server
that does not answer is left out (logged), never failing the whole list."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.infra.cache import Cache
from aihub.provider_keys import repository
from aihub.provider_keys.models import ProviderKey
from aihub.provider_keys.pool import KeyPool
from aihub.providers.base import ProviderError
from aihub.providers.http import Timeouts, session_for
from aihub.providers.registry import get_adapter

log = structlog.get_logger(__name__)

DISCOVERING = ("openai_compatible",)
CACHE_TTL_S = 300.0
DISCOVERY_TIMEOUTS = Timeouts(connect_s=3.0, idle_s=5.0, read_s=5.0)
DISCOVERY_DEADLINE_S = 6.0


def _cache_key(key_id: int) -> str:
    return f"models:key:{key_id}"


async def _models_of(app_state: Any, row: ProviderKey) -> list[str]:
    cache: Cache = app_state.infra.cache
    cached = await cache.get(_cache_key(row.id))
    if cached is not None:
        models: list[str] = orjson.loads(cached)
        return models
    pool: KeyPool = app_state.key_pool
    key = pool.pool_key(row)
    if key is None:
        return []
    adapter = get_adapter(row.provider)
    try:
        async with asyncio.timeout(DISCOVERY_DEADLINE_S):
            models = await adapter.list_models(
                session_for(app_state.http, key.credentials),
                key.credentials,
                timeouts=DISCOVERY_TIMEOUTS,
            )
    except (ProviderError, TimeoutError) as exc:
        log.info("model_discovery_failed", key_id=row.id, error=str(exc))
        return []
    await cache.set(_cache_key(row.id), orjson.dumps(models), CACHE_TTL_S)
    return models


async def discovered_models(
    session: AsyncSession, app_state: Any, *, user_id: int
) -> list[tuple[str, str]]:
    """(provider, model id) pairs from every discovering key the user may use."""
    rows = [
        row
        for row in await repository.list_usable_keys(session, user_id=user_id)
        if row.provider in DISCOVERING
    ]
    lists = await asyncio.gather(*(_models_of(app_state, row) for row in rows))
    return [
        (row.provider, model)
        for row, models in zip(rows, lists, strict=True)
        for model in models
    ]
