"""Response cache: Redis when configured, an in-process LRU otherwise."""

from __future__ import annotations

import redis.asyncio as redis_asyncio

from aihub.infra.cache.base import Cache
from aihub.infra.cache.memory import MemoryCache
from aihub.infra.cache.redis import RedisCache

__all__ = ["Cache", "MemoryCache", "RedisCache", "build"]


def build(client: redis_asyncio.Redis | None, *, max_entries: int = 10_000) -> Cache:
    if client is None:
        return MemoryCache(max_entries=max_entries)
    return RedisCache(client)
