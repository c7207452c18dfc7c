"""The media task queue, on taskiq: a message per job attempt, carrying only the
job id (the job itself lives in the database).

Two brokers, one per set-up, both with the three priorities (interactive ahead
of normal ahead of batch):

- ``MemoryPriorityBroker``: in-process (no Redis): an asyncio priority queue,
  consumed by taskiq's ``Receiver`` in the API process itself;
- ``RedisPriorityBroker``: one Redis list per priority (single Redis,
  Sentinel or Cluster); ``BRPOP`` over the lists in priority order pops the
  most urgent message first, whichever ``aihub worker`` process asks.

Both honour a ``delay`` label: after a transient failure the runner stamps the
job's ``retry_at`` (``backoff_delay``: 1, 2, 4... x AIHUB_MEDIA_RETRY_DELAY_S)
and sends it again with that delay; the claim refuses a job before its
``retry_at`` whoever sends it (``kick_next``, the sweeper). Workers take at
most ``max_async_tasks`` messages at a time and prefetch none, so the priority
order is decided when a slot frees.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncGenerator
from typing import Any

import structlog
from taskiq import AsyncBroker, BrokerMessage
from taskiq.kicker import AsyncKicker

from aihub.core.tasks import cancel_requested
from aihub.infra.redis_client import (
    REDIS_ERRORS,
    RedisClient,
    build_redis_client,
    close_client,
    is_cluster_url,
)

log = structlog.get_logger(__name__)

TASK_NAME = "aihub.media.run_job"
PRIORITIES = {"interactive": 1, "normal": 5, "batch": 9}
PRIORITY_NAMES = {value: key for key, value in PRIORITIES.items()}
LEVELS = tuple(sorted(PRIORITIES.values()))
DEFAULT_LEVEL = PRIORITIES["normal"]
QUEUE_NAME = "aihub:media"
MAX_BACKOFF_S = 120.0


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _level(labels: dict[str, Any]) -> int:
    level = int(_float(labels.get("priority"), DEFAULT_LEVEL))
    return min(LEVELS, key=lambda known: abs(known - level))


def backoff_delay(base_s: float, failed_attempt: int, *, jitter: bool = True) -> float:
    """Seconds to wait after attempt ``failed_attempt`` (1-based) failed:
    ``base_s`` x 1, 2, 4... (at most ``MAX_BACKOFF_S``), plus up to half of
    ``base_s`` of jitter; never less than the doubling step itself."""
    delay = min(base_s * 2.0 ** max(0, failed_attempt - 1), MAX_BACKOFF_S)
    if jitter and base_s > 0:
        delay += random.random() * base_s / 2  # noqa: S311  jitter, not crypto
    return delay


class MemoryPriorityBroker(AsyncBroker):
    """In-process broker: a priority queue (FIFO within one priority)."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.PriorityQueue[tuple[int, int, bytes]] = (
            asyncio.PriorityQueue()
        )
        self._order = itertools.count()
        self._timers: set[asyncio.TimerHandle] = set()

    async def kick(self, message: BrokerMessage) -> None:
        item = (_level(message.labels), next(self._order), message.message)
        delay = _float(message.labels.get("delay"))
        if delay <= 0:
            self._queue.put_nowait(item)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def fire() -> None:
            if handle is not None:
                self._timers.discard(handle)
            self._queue.put_nowait(item)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    async def listen(self) -> AsyncGenerator[bytes, None]:
        while True:
            *_, data = await self._queue.get()
            yield data

    def pending(self) -> int:
        return self._queue.qsize()

    async def shutdown(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        await super().shutdown()


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
        delay = _float(message.labels.get("delay"))
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
        await self.client.lpush(self.list_key(_level(message.labels)), message.message)

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


class JobQueue:
    """Sends job ids to the broker with their priority."""

    def __init__(
        self, broker: AsyncBroker, *, retry_delay_s: float, is_local: bool
    ) -> None:
        self.broker = broker
        self.is_local = is_local
        self.retry_delay_s = retry_delay_s

    async def start(self) -> None:
        await self.broker.startup()

    async def close(self) -> None:
        await self.broker.shutdown()

    async def kick(self, job_id: int, *, priority: int, delay_s: float = 0.0) -> None:
        """Send the job; with ``delay_s`` the broker holds it back that long."""
        labels: dict[str, Any] = {"priority": priority}
        if delay_s > 0:
            labels["delay"] = delay_s
        kicker: AsyncKicker[Any, Any] = AsyncKicker(
            task_name=TASK_NAME, broker=self.broker, labels=labels
        )
        await kicker.kiq(job_id)


def build_queue(redis_url: str | None, *, retry_delay_s: float) -> JobQueue:
    if redis_url:
        return JobQueue(
            RedisPriorityBroker(redis_url), retry_delay_s=retry_delay_s, is_local=False
        )
    return JobQueue(MemoryPriorityBroker(), retry_delay_s=retry_delay_s, is_local=True)
