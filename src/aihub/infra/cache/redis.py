"""Redis cache: plain GET / SET PX under the prefix ``aihub:cache:``."""

from __future__ import annotations

import structlog

from aihub.infra.redis_client import REDIS_ERRORS, RedisClient

log = structlog.get_logger(__name__)

PREFIX = "aihub:cache:"


class RedisCache:
    """Shares the process's Redis client; failures degrade to misses (logged)."""

    def __init__(self, client: RedisClient, *, prefix: str = PREFIX) -> None:
        self._client = client
        self._prefix = prefix

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._client.get(self._prefix + key)
        except REDIS_ERRORS as exc:
            log.warning("cache_get_failed", error=str(exc))
            return None
        if isinstance(value, str):  # only with decode_responses=True
            return value.encode()
        return value

    async def set(self, key: str, value: bytes, ttl_s: float) -> None:
        ttl_ms = int(ttl_s * 1000)
        try:
            if ttl_ms <= 0:
                await self._client.delete(self._prefix + key)
            else:
                await self._client.set(self._prefix + key, value, px=ttl_ms)
        except REDIS_ERRORS as exc:
            log.warning("cache_set_failed", error=str(exc))

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(self._prefix + key)
        except REDIS_ERRORS as exc:
            log.warning("cache_delete_failed", error=str(exc))

    async def close(self) -> None:
        """Nothing of its own to release: the client belongs to the Infra."""
