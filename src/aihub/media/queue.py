"""The media task queue, on taskiq: a message per job attempt, carrying only the
job id (the job itself lives in the database).

Two brokers, one per set-up, both with the three priorities (interactive ahead
of normal ahead of batch):

- ``MemoryPriorityBroker``: in-process (no Redis): an asyncio priority queue,
  consumed by taskiq's ``Receiver`` in the API process itself;
- ``RedisPriorityBroker`` (``redis_broker``): one Redis list per priority (single Redis,
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

log = structlog.get_logger(__name__)

TASK_NAME = "aihub.media.run_job"
PRIORITIES = {"interactive": 1, "normal": 5, "batch": 9}
PRIORITY_NAMES = {value: key for key, value in PRIORITIES.items()}
LEVELS = tuple(sorted(PRIORITIES.values()))
DEFAULT_LEVEL = PRIORITIES["normal"]
QUEUE_NAME = "aihub:media"
MAX_BACKOFF_S = 120.0


def label_float(value: Any, default: float = 0.0) -> float:
    """A message label as a number (labels may travel as text)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def priority_level(labels: dict[str, Any]) -> int:
    """The known priority level nearest a message's ``priority`` label."""
    level = int(label_float(labels.get("priority"), DEFAULT_LEVEL))
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
        item = (priority_level(message.labels), next(self._order), message.message)
        delay = label_float(message.labels.get("delay"))
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
        from aihub.media.redis_broker import RedisPriorityBroker  # only with Redis

        return JobQueue(
            RedisPriorityBroker(redis_url), retry_delay_s=retry_delay_s, is_local=False
        )
    return JobQueue(MemoryPriorityBroker(), retry_delay_s=retry_delay_s, is_local=True)
