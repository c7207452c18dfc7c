"""Infrastructure behind small interfaces, each with two implementations:
in-process (the default: nothing to install) and Redis (when a URL is given,
shared by every process). Imports no domain: callers pass plain values.

    infra = await build_infra(settings.redis_url)   # in the lifespan
    ...
    await infra.close()                              # cancels owned tasks
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

import redis.asyncio as redis_asyncio
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from aihub.infra import cache, events, limiter, state
from aihub.infra.cache import Cache
from aihub.infra.events import EventBus
from aihub.infra.limiter import Limiter
from aihub.infra.state import KeyValueStore

__all__ = ["Infra", "build_infra"]

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Infra:
    cache: Cache
    events: EventBus
    limiter: Limiter
    state: KeyValueStore
    redis: redis_asyncio.Redis | None
    """The shared client (None in-process), e.g. for a readiness ping."""

    async def close(self) -> None:
        await self.events.close()
        await self.limiter.close()
        await self.cache.close()
        await self.state.close()
        if self.redis is not None:
            await self.redis.aclose()


async def build_infra(
    redis_url: str | None,
    *,
    cache_max_entries: int = 10_000,
    event_queue_size: int = 1000,
    limiter_window_s: int = 60,
) -> Infra:
    """Build and start every backend; Redis ones share one connection pool."""
    client = _redis_client(redis_url) if redis_url else None
    infra = Infra(
        cache=cache.build(client, max_entries=cache_max_entries),
        events=events.build(client, queue_size=event_queue_size),
        limiter=limiter.build(client, window_s=limiter_window_s),
        state=state.build(client),
        redis=client,
    )
    await infra.events.start()
    log.info("infra_started", backend="redis" if client is not None else "memory")
    return infra


def _redis_client(url: str) -> redis_asyncio.Redis:
    # A name per process shows in CLIENT LIST, so operators (and tests) can
    # tell aihub's connections apart. Retries are short (under half a second in
    # all, against redis-py's default of seconds): a request on the hot path
    # should learn fast that Redis is away.
    name = f"aihub-{os.getpid()}-{secrets.token_hex(3)}"
    return redis_asyncio.Redis.from_url(
        url,
        client_name=name,
        socket_connect_timeout=2,
        socket_timeout=5,
        socket_keepalive=True,
        retry=Retry(ExponentialWithJitterBackoff(cap=0.25, base=0.01), retries=3),
    )
