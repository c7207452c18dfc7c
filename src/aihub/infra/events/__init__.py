"""Event bus across processes: Redis pub/sub when configured, in-process otherwise.

Channels used by the domains: ``stream.stop``, key pool health changes, gateway
key invalidation, media job progress (``media.job.<id>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aihub.infra.events.base import Callback, EventBus, Listener, Message
from aihub.infra.events.memory import MemoryEventBus

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

__all__ = [
    "Callback",
    "EventBus",
    "Listener",
    "MemoryEventBus",
    "Message",
    "build",
]


def build(
    client: RedisClient | None, *, queue_size: int = 1000, sharded: bool = False
) -> EventBus:
    """An unstarted bus; ``await bus.start()`` before use (build_infra does).
    ``sharded``: SPUBLISH/SSUBSCRIBE on a cluster (ignored otherwise)."""
    if client is None:
        return MemoryEventBus(queue_size=queue_size)
    from aihub.infra.events.redis import RedisEventBus  # redis-py only with Redis

    return RedisEventBus(client, queue_size=queue_size, sharded=sharded)
