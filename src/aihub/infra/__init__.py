"""Infrastructure behind small interfaces, each with two implementations:
in-process (the default: nothing to install) and Redis (when a URL is given,
shared by every process; a single Redis, a Redis Cluster or a Sentinel-managed
master, see ``redis_client``). Imports no domain: callers pass plain values.
redis-py (~20 MiB) is imported only when a Redis URL is given.

    infra = await build_infra(settings.redis_url)   # in the lifespan
    ...
    await infra.close()                              # cancels owned tasks
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from aihub.infra import cache, events, limiter, state
from aihub.infra.cache import Cache
from aihub.infra.events import EventBus
from aihub.infra.limiter import Limiter
from aihub.infra.state import KeyValueStore

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

__all__ = ["Infra", "build_infra"]

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Infra:
    cache: Cache
    events: EventBus
    limiter: Limiter
    state: KeyValueStore
    redis: RedisClient | None
    """The shared client (None in-process), e.g. for a readiness ping."""

    async def close(self) -> None:
        await self.events.close()
        await self.limiter.close()
        await self.cache.close()
        await self.state.close()
        if self.redis is not None:
            from aihub.infra.redis_client import close_client

            await close_client(self.redis)


async def build_infra(
    redis_url: str | None,
    *,
    cache_max_entries: int = 10_000,
    event_queue_size: int = 1000,
    limiter_window_s: int = 60,
) -> Infra:
    """Build and start every backend; Redis ones share one connection pool."""
    client: RedisClient | None = None
    sharded = False
    if redis_url:
        from aihub.infra.redis_client import build_redis_client, sharded_pubsub

        client = build_redis_client(redis_url)
        sharded = sharded_pubsub(redis_url)
    infra = Infra(
        cache=cache.build(client, max_entries=cache_max_entries),
        events=events.build(
            client,
            queue_size=event_queue_size,
            sharded=sharded,
        ),
        limiter=limiter.build(client, window_s=limiter_window_s),
        state=state.build(client),
        redis=client,
    )
    await infra.events.start()
    log.info("infra_started", backend=_backend(redis_url, client))
    return infra


def _backend(url: str | None, client: RedisClient | None) -> str:
    if client is None or url is None:
        return "memory"
    from aihub.infra.redis_client import is_cluster

    if is_cluster(client):
        return "redis-cluster"
    return "redis-sentinel" if "+sentinel" in url.partition("://")[0] else "redis"
