"""Redis limiter: the ``limits`` library's async Redis storage on the redis-py
client (its Lua scripts make each hit atomic across processes), sharing the
Infra's connection pool. Keys live under ``aihub:limits:``."""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis_asyncio
from limits.aio.storage import RedisStorage

from aihub.infra.limiter.window import SlidingWindowLimiter

PREFIX = "aihub:limits"


class RedisLimiter(SlidingWindowLimiter):
    def __init__(
        self, client: redis_asyncio.Redis, *, window_s: int = 60, prefix: str = PREFIX
    ) -> None:
        # limits types its pass-through options as scalars; the pool is passed on
        # to redis.asyncio.Redis(connection_pool=...) untouched.
        options: dict[str, Any] = {"connection_pool": client.connection_pool}
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=prefix,
            wrap_exceptions=True,
            **options,
        )
        super().__init__(storage, window_s=window_s)
