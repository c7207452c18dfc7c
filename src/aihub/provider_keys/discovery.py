"""Models a user's OpenAI-compatible servers offer (their ``/models``), for
GET /api/models/available. Lists are cached a few minutes per key; a server
that does not answer is left out (logged), never failing the whole list."""

from __future__ import annotations

import asyncio

import aiohttp
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


class ModelDiscovery:
    """One per process (the runtime's ``discovery``): asks keys' servers for
    their models through the pool's credentials, caching each list."""

    def __init__(
        self, *, pool: KeyPool, cache: Cache, http: aiohttp.ClientSession
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._http = http

    async def models(
        self, session: AsyncSession, *, user_id: int
    ) -> list[tuple[str, str]]:
        """(provider, model id) pairs from every discovering key the user may
        use."""
        rows = [
            row
            for row in await repository.list_usable_keys(session, user_id=user_id)
            if row.provider in DISCOVERING
        ]
        lists = await asyncio.gather(*(self._models_of(row) for row in rows))
        return [
            (row.provider, model)
            for row, models in zip(rows, lists, strict=True)
            for model in models
        ]

    async def _models_of(self, row: ProviderKey) -> list[str]:
        cached = await self._cache.get(_cache_key(row.id))
        if cached is not None:
            models: list[str] = orjson.loads(cached)
            return models
        key = self._pool.pool_key(row)
        if key is None:
            return []
        adapter = get_adapter(row.provider)
        try:
            async with asyncio.timeout(DISCOVERY_DEADLINE_S):
                models = await adapter.list_models(
                    session_for(self._http, key.credentials),
                    key.credentials,
                    timeouts=DISCOVERY_TIMEOUTS,
                )
        except (ProviderError, TimeoutError) as exc:
            log.info("model_discovery_failed", key_id=row.id, error=str(exc))
            return []
        await self._cache.set(_cache_key(row.id), orjson.dumps(models), CACHE_TTL_S)
        return models
