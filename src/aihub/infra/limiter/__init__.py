"""Rate limits (requests and tokens per minute) shared by every process through
Redis when configured (per process while Redis is away: ``FallbackLimiter``),
in-process otherwise; both via the ``limits`` library."""

from __future__ import annotations

import redis.asyncio as redis_asyncio

from aihub.infra.limiter.base import Limiter, LimitResult
from aihub.infra.limiter.fallback import FallbackLimiter
from aihub.infra.limiter.memory import MemoryLimiter
from aihub.infra.limiter.redis import RedisLimiter

__all__ = [
    "FallbackLimiter",
    "LimitResult",
    "Limiter",
    "MemoryLimiter",
    "RedisLimiter",
    "build",
]


def build(client: redis_asyncio.Redis | None, *, window_s: int = 60) -> Limiter:
    if client is None:
        return MemoryLimiter(window_s=window_s)
    return FallbackLimiter(RedisLimiter(client, window_s=window_s), window_s=window_s)
