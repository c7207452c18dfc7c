"""Rate limits (requests and tokens per minute) shared by every process through
Redis when configured (per process while Redis is away: ``FallbackLimiter``),
in-process otherwise; both via the ``limits`` library."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aihub.infra.limiter.base import Limiter, LimitResult
from aihub.infra.limiter.fallback import FallbackLimiter
from aihub.infra.limiter.memory import MemoryLimiter

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

__all__ = [
    "FallbackLimiter",
    "LimitResult",
    "Limiter",
    "MemoryLimiter",
    "build",
]


def build(client: RedisClient | None, *, window_s: int = 60) -> Limiter:
    if client is None:
        return MemoryLimiter(window_s=window_s)
    from aihub.infra.limiter.redis import RedisLimiter  # redis-py only with Redis

    return FallbackLimiter(RedisLimiter(client, window_s=window_s), window_s=window_s)
