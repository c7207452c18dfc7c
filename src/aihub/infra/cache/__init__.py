"""Response cache: Redis when configured, an in-process LRU otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aihub.infra.cache.base import Cache
from aihub.infra.cache.memory import MemoryCache

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

__all__ = ["Cache", "MemoryCache", "build"]


def build(client: RedisClient | None, *, max_entries: int = 10_000) -> Cache:
    if client is None:
        return MemoryCache(max_entries=max_entries)
    from aihub.infra.cache.redis import RedisCache  # redis-py only with Redis

    return RedisCache(client)
