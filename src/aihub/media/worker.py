"""The media worker: taskiq's ``Receiver`` consuming the job queue, plus the
sweeper that keeps the database and the queue honest.

It runs inside the API process (embedded default, no Redis) or as ``aihub
worker`` processes next to API processes that only submit (Redis).

- ``max_async_tasks`` = AIHUB_MEDIA_WORKER_CONCURRENCY jobs at once, no
  prefetch, so the broker's priority order holds;
- each user runs at most AIHUB_MEDIA_USER_CONCURRENCY jobs at once (the claim
  checks it atomically); a job over the limit stays queued and is sent again
  when one of its user's jobs ends;
- the sweeper (``aihub.media.sweeper``, which API processes run too);
- every AIHUB_MEDIA_WORKER_HEARTBEAT_S it publishes that it is alive
  (``aihub.media.presence``), so API processes can warn when none is;
- a cancel (event bus, any process) stops the job's work here at once; the
  heartbeat notices it too, should the message be lost;
- on shutdown, jobs under way go back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.receiver import Receiver

from aihub.core.settings import Settings
from aihub.files.blobs import BlobStore
from aihub.infra.events import EventBus, Listener, Message
from aihub.infra.state import KeyValueStore
from aihub.media import events, presence
from aihub.media.queue import TASK_NAME, JobQueue
from aihub.media.runner import ChargeKey, JobRunner
from aihub.media.sweeper import MediaSweeper
from aihub.provider_keys.pool import KeyPool

log = structlog.get_logger(__name__)

STOP_TIMEOUT_S = 10.0


def new_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class MediaWorker:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        pool: KeyPool,
        http: aiohttp.ClientSession,
        blobs: BlobStore,
        queue: JobQueue,
        settings: Settings,
        worker_id: str | None = None,
        charge_key: ChargeKey | None = None,
        state: KeyValueStore | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._queue = queue
        self._settings = settings
        self._state = state
        self.sweeper = MediaSweeper(
            sessionmaker=sessionmaker, bus=bus, queue=queue, settings=settings
        )
        self._beat: asyncio.Task[None] | None = None
        self.runner = JobRunner(
            sessionmaker=sessionmaker,
            bus=bus,
            pool=pool,
            http=http,
            blobs=blobs,
            queue=queue,
            settings=settings,
            worker_id=worker_id or new_worker_id(),
            charge_key=charge_key,
        )
        self._finish = asyncio.Event()
        self._listen: asyncio.Task[None] | None = None
        self._cancels: Listener | None = None

    @property
    def worker_id(self) -> str:
        return self.runner.worker_id

    async def start(self) -> None:
        broker = self._queue.broker
        runner = self.runner

        async def run_media_job(job_id: int) -> None:
            await runner.run(job_id)

        broker.register_task(run_media_job, task_name=TASK_NAME)
        broker.is_worker_process = True
        receiver = Receiver(
            broker,
            max_async_tasks=self._settings.media_worker_concurrency,
            max_prefetch=0,
            run_startup=False,
            propagate_exceptions=False,
        )
        self._cancels = await self._bus.listen(events.CANCEL_CHANNEL, self._on_cancel)
        self._listen = asyncio.create_task(
            receiver.listen(self._finish), name="media-receiver"
        )
        self.sweeper.start()
        if self._state is not None:
            self._beat = asyncio.create_task(
                presence.beat_forever(
                    self._state,
                    self.worker_id,
                    self._settings.media_worker_heartbeat_s,
                ),
                name="media-worker-heartbeat",
            )
        if self._queue.is_local:  # the in-process queue starts empty: refill it
            await self.sweeper.requeue_waiting(older_than_s=None)
        log.info(
            "media_worker_started",
            worker_id=self.worker_id,
            concurrency=self._settings.media_worker_concurrency,
            broker=type(broker).__name__,
        )

    async def close(self) -> None:
        self.runner.stopping = True
        if self._cancels is not None:
            await self._cancels.close()
        await self.sweeper.close()
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        for job_id in list(self.runner.running):
            self.runner.stop_local(job_id)
        self._finish.set()
        if self._listen is not None:
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await self._listen
            except TimeoutError:
                self._listen.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._listen
        log.info("media_worker_stopped", worker_id=self.worker_id)

    def _on_cancel(self, _channel: str, message: Message) -> None:
        job_id = message.get("job_id")
        if isinstance(job_id, int) and self.runner.stop_local(job_id):
            log.info("media_job_cancel_received", job_id=job_id)
