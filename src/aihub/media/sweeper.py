"""The media sweeper: keeps the database and the queue honest. Media workers
run it, and so does every API process (so a job whose worker died is found
even when no worker is alive).

Every AIHUB_MEDIA_SWEEP_INTERVAL_S it gives a running job whose heartbeat
(``media_jobs.heartbeat_at``, written by its worker every
AIHUB_MEDIA_HEARTBEAT_S) is older than AIHUB_MEDIA_STALE_AFTER_S back to the
queue (event ``queued`` with reason "worker lost"; resuming its upstream job)
or, after AIHUB_MEDIA_MAX_ATTEMPTS, fails it with the reason; it also re-sends
queued jobs nobody took for AIHUB_MEDIA_REQUEUE_AFTER_S (a message lost with a
process). A dead worker's job is thus requeued or failed within
stale_after + sweep_interval seconds. Claims are conditional UPDATEs, so
several sweepers at once act once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.exceptions import SendTaskError

from aihub.core.db import utcnow
from aihub.core.settings import Settings
from aihub.core.tasks import cancel_requested
from aihub.infra.events import EventBus
from aihub.media import events, repository
from aihub.media.models import MediaJob
from aihub.media.presence import WorkerSeen
from aihub.media.queue import JobQueue
from aihub.usage.recording import CallRecord, add_record

log = structlog.get_logger(__name__)

LOST_MESSAGE = "The worker running this job stopped responding"


class MediaSweeper:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        bus: EventBus,
        queue: JobQueue,
        settings: Settings,
        worker_seen: Callable[[], Awaitable[WorkerSeen]] | None = None,
    ) -> None:
        """``worker_seen``: in a process that is no worker, tells whether any
        is alive, so a requeued job's event can say it will wait."""
        self._worker_seen = worker_seen
        self._sessionmaker = sessionmaker
        self._bus = bus
        self._queue = queue
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._sweep_loop(), name="media-sweeper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sweep_loop(self) -> None:
        while not cancel_requested():
            await asyncio.sleep(self._settings.media_sweep_interval_s)
            try:
                await self.sweep()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("media_sweep_failed", error=str(exc))
            except Exception:  # the sweeper must outlive one bad round
                log.exception("media_sweep_failed")

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
                requeued: dict[str, Any] = {
                    "reason": "worker lost",
                    "previous_worker": job.worker_id,
                }
                if self._worker_seen is not None:
                    seen = await self._worker_seen()
                    if seen.warning is not None:
                        requeued["warning"] = seen.warning
                item = await events.record(
                    session, job, "queued", requeued, status="queued"
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
        """Send the job; one waiting out its retry backoff goes when it ends."""
        delay = 0.0
        if job.retry_at is not None:
            delay = max(0.0, (job.retry_at - utcnow()).total_seconds())
        try:
            await self._queue.kick(job.id, priority=job.priority, delay_s=delay)
        except SendTaskError as exc:
            log.warning("media_job_not_queued", job_id=job.id, error=str(exc))
