"""The media queue's Redis broker: one Redis list per priority (single Redis,
Sentinel or Cluster), imported only when ``AIHUB_REDIS_URL`` is set (so that a
process without Redis never loads redis-py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import structlog
from taskiq import AsyncBroker, BrokerMessage

from aihub.core.tasks import cancel_requested
from aihub.infra.redis_client import (
    REDIS_ERRORS,
    RedisClient,
    build_redis_client,
    close_client,
    is_cluster_url,
)
from aihub.media.queue import LEVELS, QUEUE_NAME, label_float, priority_level

log = structlog.get_logger(__name__)


class RedisPriorityBroker(AsyncBroker):
    """A list per priority level in Redis (single, Sentinel or Cluster).

    The same wire protocol as taskiq-redis' ``ListQueueBroker`` (LPUSH, BRPOP),
    on a client of our own built from ``AIHUB_REDIS_URL`` (taskiq-redis' list
    brokers take one list each and a plain ``redis://`` URL). On a cluster the
    lists share the hash tag ``{aihub:media}`` so that one BRPOP can watch all
    three (they live in one slot, on one node); on a single Redis the names stay
    ``aihub:media:<level>`` as before, so jobs queued by an older hub are
    still taken after an upgrade.
    """

    def __init__(self, url: str, *, queue_name: str = QUEUE_NAME) -> None:
        super().__init__()
        self._url = url
        self._client: RedisClient | None = None
        self.queue_name = "{" + queue_name + "}" if is_cluster_url(url) else queue_name
        self._delayed: set[asyncio.Task[None]] = set()

    def list_key(self, level: int) -> str:
        return f"{self.queue_name}:{level}"

    @property
    def client(self) -> RedisClient:
        if self._client is None:
            self._client = build_redis_client(self._url)
        return self._client

    async def kick(self, message: BrokerMessage) -> None:
        delay = label_float(message.labels.get("delay"))
        if delay <= 0:
            await self._push(message)
            return
        # A delayed retry waits here; if this process dies first, the job is
        # still queued in the database and the sweeper sends it again.
        task = asyncio.create_task(self._push_later(delay, message))
        self._delayed.add(task)
        task.add_done_callback(self._delayed.discard)

    async def _push_later(self, delay: float, message: BrokerMessage) -> None:
        await asyncio.sleep(delay)
        try:
            await self._push(message)
        except REDIS_ERRORS as exc:
            log.warning("media_retry_not_queued", error=str(exc))

    async def _push(self, message: BrokerMessage) -> None:
        await self.client.lpush(
            self.list_key(priority_level(message.labels)), message.message
        )

    async def listen(self) -> AsyncGenerator[bytes, None]:
        keys = [self.list_key(level) for level in LEVELS]
        while not cancel_requested():
            try:
                popped = await self.client.brpop(keys, timeout=2)
            except REDIS_ERRORS as exc:
                log.warning("media_queue_unreachable", error=str(exc))
                await asyncio.sleep(1.0)
                continue
            if popped is not None:
                data = popped[1]
                yield data.encode() if isinstance(data, str) else data

    async def pending(self) -> int:
        sizes = [await self.client.llen(self.list_key(lv)) for lv in LEVELS]
        return int(sum(sizes))

    async def shutdown(self) -> None:
        for task in list(self._delayed):
            task.cancel()
        await asyncio.gather(*self._delayed, return_exceptions=True)
        await super().shutdown()
        client, self._client = self._client, None
        if client is not None:
            await close_client(client)
