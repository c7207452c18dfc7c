"""The media worker: taskiq's ``Receiver`` consuming the job queue, plus the
sweeper that keeps the database and the queue honest.

It runs inside the API process (embedded default, no Redis) or as ``aihub
worker`` processes next to API processes that only submit (Redis).

- ``max_async_tasks`` = AIHUB_MEDIA_WORKER_CONCURRENCY jobs at once, no
  prefetch, so the broker's priority order holds;
- each user runs at most AIHUB_MEDIA_USER_CONCURRENCY jobs at once (the claim
  checks it atomically); a job over the limit stays queued and is sent again
  when one of its user's jobs ends;
- the sweeper (every AIHUB_MEDIA_SWEEP_INTERVAL_S) gives a running job whose
  heartbeat is older than AIHUB_MEDIA_STALE_AFTER_S back to the queue (resuming
  its upstream job) or, after AIHUB_MEDIA_MAX_ATTEMPTS, fails it with the
  reason; it also re-sends queued jobs nobody took for
  AIHUB_MEDIA_REQUEUE_AFTER_S (a message lost with a process);
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
from datetime import timedelta
from typing import Any

import aiohttp
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.exceptions import SendTaskError
from taskiq.receiver import Receiver

from aihub.core.db import utcnow
from aihub.core.settings import Settings
from aihub.core.tasks import cancel_requested
from aihub.files.blobs import BlobStore
from aihub.infra.events import EventBus, Listener, Message
from aihub.media import events, repository
from aihub.media.models import MediaJob
from aihub.media.queue import TASK_NAME, JobQueue
from aihub.media.runner import ChargeKey, JobRunner
from aihub.provider_keys.pool import KeyPool
from aihub.usage.recording import CallRecord, add_record

log = structlog.get_logger(__name__)

STOP_TIMEOUT_S = 10.0
LOST_MESSAGE = "The worker running this job stopped responding"


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
    ) -> None:
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._queue = queue
        self._settings = settings
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
        self._sweeper: asyncio.Task[None] | None = None
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
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="media-sweeper")
        if self._queue.is_local:  # the in-process queue starts empty: refill it
            await self.requeue_waiting(older_than_s=None)
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
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
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

    # -- the sweeper ------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while not cancel_requested():
            await asyncio.sleep(self._settings.media_sweep_interval_s)
            try:
                await self.sweep()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("media_sweep_failed", error=str(exc))

    async def sweep(self) -> None:
        """One round: recover silent running jobs, re-send forgotten queued ones."""
        before = utcnow() - timedelta(seconds=self._settings.media_stale_after_s)
        async with self._sessionmaker() as session:
            stale = await repository.list_stale_running(session, before=before)
        for job in stale:
            await self._recover(job, before)
        await self.requeue_waiting(older_than_s=self._settings.media_requeue_after_s)

    async def _recover(self, job: MediaJob, before: Any) -> None:
        silent = (
            MediaJob.status == "running",
            (MediaJob.heartbeat_at < before) | (MediaJob.heartbeat_at.is_(None)),
        )
        give_up = job.attempts >= self._settings.media_max_attempts
        async with self._sessionmaker() as session:
            if give_up:
                values: dict[str, Any] = {
                    "status": "failed",
                    "stage": "failed",
                    "error_type": "api_error",
                    "error_message": LOST_MESSAGE,
                    "finished_at": utcnow(),
                }
            else:
                values = {"status": "queued", "worker_id": None, "stage": "recovering"}
            if not await repository.update_job(
                session, job_id=job.id, values=values, where=silent
            ):
                return
            if give_up:
                add_record(
                    session,
                    CallRecord(
                        user_id=job.user_id,
                        kind=job.kind,
                        provider=job.provider,
                        model=job.model,
                        provider_key_id=job.provider_key_id,
                        gateway_key_id=job.gateway_key_id,
                        status="error",
                        error_type="api_error",
                    ),
                )
                data = {"error_message": LOST_MESSAGE, "error_type": "api_error"}
                item = await events.record(
                    session, job, "failed", data, status="failed"
                )
            else:
                item = await events.record(
                    session,
                    job,
                    "queued",
                    {"reason": "worker lost", "previous_worker": job.worker_id},
                    status="queued",
                )
            await session.commit()
        await events.publish(self._bus, job.id, [item])
        log.warning(
            "media_job_recovered" if not give_up else "media_job_abandoned",
            job_id=job.id,
            worker_id=job.worker_id,
            attempts=job.attempts,
        )
        if not give_up:
            await self._send(job)

    async def requeue_waiting(self, *, older_than_s: float | None) -> int:
        """Send queued jobs again (all of them when ``older_than_s`` is None)."""
        before = None
        if older_than_s is not None:
            before = utcnow() - timedelta(seconds=older_than_s)
        async with self._sessionmaker() as session:
            waiting = await repository.list_waiting_queued(session, before=before)
            touched = []
            for job in waiting:
                where = [MediaJob.status == "queued"]
                if before is not None:
                    where.append(MediaJob.updated_at < before)
                if await repository.update_job(
                    session, job_id=job.id, values={}, where=where
                ):
                    touched.append(job)
            await session.commit()
        for job in touched:
            await self._send(job)
        return len(touched)

    async def _send(self, job: MediaJob) -> None:
        try:
            await self._queue.kick(job.id, priority=job.priority)
        except SendTaskError as exc:
            log.warning("media_job_not_queued", job_id=job.id, error=str(exc))
