"""One job attempt, as the queue's task runs it: claim the job, generate with a
pooled provider key, store the artifacts, and record how it ended.

Every state change is a conditional UPDATE (``status = 'running' AND
worker_id = <this worker>``): a job cancelled meanwhile, or taken over by the
sweeper after this worker went silent, is left alone (``_JobLost``). A
heartbeat stamps the job while it runs; when the stamp no longer applies (the
job was cancelled), the work is stopped. No session stays open across an
upstream call.

Outcomes: completed (artifacts, cost, a request-log row); a transient failure
(5xx, timeout, every key rate limited) with attempts left goes back to
``queued`` with a ``retry_at`` (1, 2, 4... x AIHUB_MEDIA_RETRY_DELAY_S) and is
sent again with that delay; no claim takes it before then (not even the
"start this user's next job" step after another job ends); anything else is
failed with its seed error type."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.exceptions import SendTaskError

from aihub.calls.keyloop import call_with_keys
from aihub.calls.retry import RetryPolicy
from aihub.core.db import utcnow
from aihub.core.errors import AihubError, RateLimitError
from aihub.core.settings import Settings
from aihub.core.tasks import cancel_requested
from aihub.files import service as files_service
from aihub.files.blobs import BlobStore
from aihub.files.models import StoredFile
from aihub.files.probe import probe
from aihub.infra.events import EventBus
from aihub.infra.outbound import same_origin
from aihub.media import events, repository
from aihub.media.events import JobEvent
from aihub.media.models import MediaJob
from aihub.media.queue import JobQueue, backoff_delay
from aihub.provider_keys.lease import Lease
from aihub.provider_keys.pool import KeyPool
from aihub.providers.base import Credentials
from aihub.providers.errors import ProviderError, UpstreamRefused
from aihub.providers.http import Timeouts, session_for
from aihub.providers.media_base import (
    Follow,
    InputImage,
    MediaOutput,
    MediaProgress,
    MediaRequest,
    download,
)
from aihub.providers.media_registry import get_media_adapter
from aihub.usage.cost import compute_media_cost
from aihub.usage.recording import CallRecord, add_record

log = structlog.get_logger(__name__)

PREVIEW_CHARS = 500

ChargeKey = Callable[[int, float], Awaitable[None]]
"""Adds a completed job's cost (USD) to its gateway key's spend."""
CHARGE_ATTEMPTS = 4


class _JobLost(Exception):
    """The job is no longer this worker's (cancelled, recovered, deleted)."""


@dataclass(slots=True)
class _Generated:
    outputs: list[MediaOutput]
    key_id: int | None
    started: float
    credentials: Credentials | None = None
    base_url: str | None = None
    """The provider's base URL: result files elsewhere are fetched under the
    outbound URL policy."""


class JobRunner:
    """Runs job attempts for one worker (``worker_id``)."""

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
        worker_id: str,
        charge_key: ChargeKey | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._charge_key = charge_key
        self._bus = bus
        self._pool = pool
        self._http = http
        self._blobs = blobs
        self._queue = queue
        self._settings = settings
        self.worker_id = worker_id
        self.running: dict[int, asyncio.Task[None]] = {}
        self.stopping = False
        self._timeouts = Timeouts(
            connect_s=settings.upstream_connect_timeout_s,
            idle_s=settings.upstream_idle_timeout_s,
            read_s=settings.upstream_idle_timeout_s,
        )

    def _mine(self) -> tuple[Any, ...]:
        return (MediaJob.status == "running", MediaJob.worker_id == self.worker_id)

    async def _publish(self, job_id: int, items: Sequence[JobEvent]) -> None:
        await events.publish(self._bus, job_id, items)

    def stop_local(self, job_id: int) -> bool:
        """Stop the job's work in this process (a cancel from any process)."""
        task = self.running.get(job_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    # -- the task ---------------------------------------------------------------------

    async def run(self, job_id: int) -> None:
        """The queue's task: one attempt of job ``job_id``, or of a more urgent
        job of the same user (see ``_claim``)."""
        job = await self._claim(job_id)
        if job is None:
            return
        job_id = job.id
        work = asyncio.create_task(self._work(job), name=f"media-job-{job_id}")
        self.running[job_id] = work
        beat = asyncio.create_task(self._heartbeat(job_id, work))
        try:
            await work
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            await self._stopped(job)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            self.running.pop(job_id, None)
        if not self.stopping:
            await self.kick_next(job.user_id)

    async def _claim(self, job_id: int) -> MediaJob | None:
        now = utcnow()
        async with self._sessionmaker() as session:
            job = await repository.get_job(session, job_id=job_id)
            if job is None or job.status != "queued":
                return None
            if job.retry_at is not None and job.retry_at > now:
                await self._resend_later(job, job.retry_at - now)
                return None
            user_id = job.user_id
            await repository.lock_user(session, user_id=user_id)
            # A message only says "this user has work": their most urgent ready
            # job goes first, whichever message arrives first (a message dropped
            # while the user was at their limit must not let a batch job pass a
            # normal one); the message's own job is sent again below.
            first = await repository.next_queued_of_user(
                session, user_id=user_id, now=now
            )
            passed_over = job if first is not None and first.id != job_id else None
            if first is not None:
                job_id = first.id
            claimed = await repository.claim_job(
                session,
                job_id=job_id,
                user_id=user_id,
                user_limit=self._settings.media_user_concurrency,
                now=now,
                values={
                    "retry_at": None,
                    "status": "running",
                    "worker_id": self.worker_id,
                    "heartbeat_at": now,
                    "started_at": job.started_at or now,
                    "attempts": MediaJob.attempts + 1,
                    "stage": "started",
                    "error_type": None,
                    "error_message": None,
                },
            )
            if not claimed:
                await session.rollback()
                log.debug("media_job_deferred", job_id=job_id, user_id=user_id)
                return None
            job = await repository.get_job(session, job_id=job_id)
            assert job is not None  # noqa: S101  we hold its row lock
            started = await events.record(
                session, job, "started", {"attempt": job.attempts}
            )
            await session.commit()
        await self._publish(job_id, [started])
        log.info("media_job_started", job_id=job_id, attempt=job.attempts)
        if passed_over is not None:  # it starts now if the user has room, or later
            with contextlib.suppress(SendTaskError):  # the sweeper sends it later
                await self._queue.kick(passed_over.id, priority=passed_over.priority)
        return job

    async def _resend_later(self, job: MediaJob, wait: timedelta) -> None:
        """A message came before the job's backoff ended: send it again for
        then (a duplicate is harmless, only one claim succeeds)."""
        log.debug("media_job_backing_off", job_id=job.id, retry_at=job.retry_at)
        with contextlib.suppress(SendTaskError):  # the sweeper sends it later
            await self._queue.kick(
                job.id, priority=job.priority, delay_s=wait.total_seconds()
            )

    async def kick_next(self, user_id: int) -> None:
        """A slot of this user freed: queue their most urgent waiting job (its
        own message may have been dropped while the user was at the limit); a
        job waiting out its retry backoff is not one of them."""
        async with self._sessionmaker() as session:
            job = await repository.next_queued_of_user(
                session, user_id=user_id, now=utcnow()
            )
        if job is not None:
            with contextlib.suppress(SendTaskError):  # the sweeper sends it later
                await self._queue.kick(job.id, priority=job.priority)

    async def _heartbeat(self, job_id: int, work: asyncio.Task[None]) -> None:
        while not cancel_requested():
            await asyncio.sleep(self._settings.media_heartbeat_s)
            try:
                async with self._sessionmaker() as session:
                    alive = await repository.update_job(
                        session,
                        job_id=job_id,
                        values={"heartbeat_at": utcnow()},
                        where=self._mine(),
                    )
                    await session.commit()
            except SQLAlchemyError as exc:
                log.warning("media_heartbeat_failed", job_id=job_id, error=str(exc))
                continue
            if not alive:
                log.info("media_job_no_longer_ours", job_id=job_id)
                work.cancel()
                return

    async def _stopped(self, job: MediaJob) -> None:
        """The work was cancelled: by the user, or because this worker stops."""
        if not self.stopping:
            log.info("media_job_stopped", job_id=job.id)
            return
        async with self._sessionmaker() as session:
            back = await repository.update_job(
                session,
                job_id=job.id,
                values={"status": "queued", "worker_id": None, "stage": "requeued"},
                where=self._mine(),
            )
            item = None
            if back:
                item = await events.record(
                    session,
                    job,
                    "queued",
                    {"reason": "worker stopped"},
                    status="queued",
                )
            await session.commit()
        if item is not None:
            await self._publish(job.id, [item])
            if not self._queue.is_local:
                with contextlib.suppress(SendTaskError):  # the sweeper sends it later
                    await self._queue.kick(job.id, priority=job.priority)

    # -- the work ---------------------------------------------------------------------

    async def _work(self, job: MediaJob) -> None:
        try:
            async with asyncio.timeout(self._settings.media_job_timeout_s):
                generated = await self._generate(job)
                await self._complete(job, generated)
        except _JobLost:
            log.info("media_job_lost", job_id=job.id)
        except ProviderError as exc:
            await self._failed(job, exc.error_type, exc.message, exc.retryable)
        except RateLimitError as exc:  # every key cooling down: try again later
            await self._failed(job, exc.error_type, exc.message, True)
        except AihubError as exc:  # no key, every key rejected, out of credit
            await self._failed(job, exc.error_type, exc.message, False)
        except TimeoutError:
            limit = int(self._settings.media_job_timeout_s)
            await self._failed(job, "api_error", f"No result within {limit} s", False)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not leave the job running: logged, failed
            log.exception("media_job_crashed", job_id=job.id)
            await self._failed(
                job, "api_error", "Internal error running the job", False
            )

    async def _request(self, job: MediaJob) -> MediaRequest:
        params: dict[str, Any] = job.params or {}
        image = None
        file_id = params.get("input_file_id")
        if file_id is not None:
            image = await self._input_image(job, params)
        return MediaRequest(
            kind="video" if job.kind == "video" else "image",
            model=str(params.get("api_model") or job.model),
            prompt=job.prompt,
            count=int(params.get("count") or 1),
            width=params.get("width"),
            height=params.get("height"),
            duration_s=params.get("duration"),
            quality=params.get("quality"),
            input_image=image,
        )

    async def _input_image(self, job: MediaJob, params: dict[str, Any]) -> InputImage:
        ref = str(params.get("input_image") or "")
        async with self._sessionmaker() as session:
            row = await files_service.resolve_ref(session, user_id=job.user_id, ref=ref)
        data = await files_service.read_file(self._blobs, row)
        return InputImage(data=data, media_type=row.media_type, filename=row.filename)

    async def _generate(self, job: MediaJob) -> _Generated:
        adapter = get_media_adapter(job.provider)
        if adapter is None:
            raise _UnknownProvider(f"No media adapter for {job.provider!r}")
        request = await self._request(job)
        follow = Follow(
            upstream_job_id=job.upstream_job_id,
            poll_interval_s=self._settings.media_poll_interval_s,
            timeouts=self._timeouts,
        )
        key_ids: list[int] = []
        used: list[Credentials] = []

        async def on_progress(progress: MediaProgress) -> None:
            await self._progress(job, progress)

        async def on_submitted(upstream_id: str) -> None:
            follow.upstream_job_id = upstream_id
            await self._submitted(job, upstream_id, key_ids[-1] if key_ids else None)

        follow.on_progress = on_progress
        follow.on_submitted = on_submitted

        async def attempt(lease: Lease) -> list[MediaOutput]:
            key_ids.append(lease.key_id)
            used.append(lease.credentials)
            return await adapter.generate(
                session_for(self._http, lease.credentials),
                lease.credentials,
                request,
                follow,
            )

        started = time.monotonic()
        # A 5xx or a connection error before the provider took the job is tried
        # again at once (AIHUB_UPSTREAM_RETRIES); once it holds an upstream job,
        # a failure goes to the job's retry with backoff, which resumes it.
        outputs = await call_with_keys(
            self._pool,
            job.provider,
            user_id=job.user_id,
            fn=attempt,
            policy=RetryPolicy.from_settings(self._settings),
            committed=lambda: follow.upstream_job_id is not None,
        )
        creds = used[-1] if used else None
        base = (creds.base_url if creds else None) or getattr(
            adapter, "default_base_url", None
        )
        return _Generated(
            outputs, key_ids[-1] if key_ids else None, started, creds, base
        )

    async def _progress(self, job: MediaJob, progress: MediaProgress) -> None:
        values: dict[str, Any] = {"heartbeat_at": utcnow(), "stage": progress.stage}
        if progress.percent is not None:
            values["percent"] = round(progress.percent, 2)
        async with self._sessionmaker() as session:
            if not await repository.update_job(
                session, job_id=job.id, values=values, where=self._mine()
            ):
                raise _JobLost()
            percent = None if progress.percent is None else round(progress.percent, 2)
            item = await events.record(
                session,
                job,
                "progress",
                {"percent": percent, "stage": progress.stage},
                status="running",
            )
            await session.commit()
        await self._publish(job.id, [item])

    async def _submitted(
        self, job: MediaJob, upstream_id: str, key_id: int | None
    ) -> None:
        async with self._sessionmaker() as session:
            await repository.update_job(
                session,
                job_id=job.id,
                values={"upstream_job_id": upstream_id, "provider_key_id": key_id},
                where=self._mine(),
            )
            await session.commit()

    def _download_session(
        self, generated: _Generated, url: str
    ) -> aiohttp.ClientSession:
        """A user's key: its guarded session. An administrator's key: the
        trusted one for files on the provider's own origin, the guarded one for
        files anywhere else (a provider must not make aihub fetch internal URLs)."""
        creds = generated.credentials
        if creds is not None and creds.http is not None:
            return creds.http
        if generated.base_url is not None and same_origin(url, generated.base_url):
            return self._http
        guarded = self._pool.guarded_http
        if guarded is None:
            raise UpstreamRefused("No outbound policy session to fetch the file")
        return guarded

    async def _fetch(self, generated: _Generated) -> list[tuple[bytes, str | None]]:
        files = []
        for output in generated.outputs:
            if output.data is not None:
                files.append((output.data, output.media_type))
            elif output.url is not None:
                files.append(
                    await download(
                        self._download_session(generated, output.url),
                        output.url,
                        max_bytes=self._settings.media_max_artifact_bytes,
                    )
                )
        return files

    async def _complete(self, job: MediaJob, generated: _Generated) -> None:
        files = await self._fetch(generated)
        stored: list[StoredFile] = []
        async with self._sessionmaker() as session:
            for index, (data, media_type) in enumerate(files, start=1):
                name = f"{job.kind}-{job.id}-{index}{probe(data).extension}"
                stored.append(
                    await files_service.store_bytes(
                        session,
                        self._blobs,
                        user_id=job.user_id,
                        data=data,
                        filename=name,
                        media_type=media_type,
                        media_job_id=job.id,
                    )
                )
            cost = self._cost(job, stored)
            done = await repository.update_job(
                session,
                job_id=job.id,
                values={
                    "status": "completed",
                    "percent": 100.0,
                    "stage": "completed",
                    "cost": cost[1],
                    "finished_at": utcnow(),
                    "provider_key_id": generated.key_id,
                },
                where=self._mine(),
            )
            if not done:
                keys = [row.storage_key for row in stored]
                await session.rollback()
                for key in keys:
                    await self._blobs.delete(key)
                raise _JobLost()
            await session.flush()
            self._record_call(session, job, generated, cost=cost)
            item = await events.record(
                session,
                job,
                "completed",
                {"artifacts": [self._artifact(row) for row in stored]},
                status="completed",
            )
            await session.commit()
        # The job is completed now: the heartbeat, finding it no longer running,
        # cancels this work; the charge and the event must happen all the same.
        await asyncio.shield(self._settle(job, cost[1], item, len(stored)))

    async def _settle(
        self, job: MediaJob, cost: float, item: JobEvent, files: int
    ) -> None:
        await self._charge(job, cost)
        await self._publish(job.id, [item])
        log.info("media_job_completed", job_id=job.id, files=files, cost=cost)

    async def _charge(self, job: MediaJob, cost: float) -> None:
        """The job's cost goes to its gateway key's spend, once (only the
        worker whose update completed the job gets here)."""
        key_id = job.gateway_key_id
        if key_id is None or cost <= 0 or self._charge_key is None:
            return
        for attempt in range(CHARGE_ATTEMPTS):  # a busy SQLite, a blip of the network
            try:
                await self._charge_key(key_id, cost)
                return
            except (SQLAlchemyError, OSError) as exc:
                log.warning(
                    "media_key_spend_failed",
                    job_id=job.id,
                    key_id=key_id,
                    attempt=attempt + 1,
                    error=str(exc),
                )
                await asyncio.sleep(0.2 * 2**attempt)

    def _artifact(self, row: StoredFile) -> dict[str, Any]:
        return {
            "url": files_service.file_url(row.token, self._settings.public_url),
            "media_type": row.media_type,
            "bytes": row.bytes,
            "width": row.width,
            "height": row.height,
            "duration_s": row.duration_s,
        }

    def _cost(self, job: MediaJob, stored: list[StoredFile]) -> tuple[float, float]:
        """(units, USD): images, or seconds of video (as asked, else as made)."""
        params: dict[str, Any] = job.params or {}
        width, height = params.get("width"), params.get("height")
        size = f"{width}x{height}" if width and height else None
        if job.kind == "video":
            asked = params.get("duration")
            seconds = (
                float(asked) * len(stored)
                if asked
                else sum(row.duration_s or 0.0 for row in stored)
            )
            priced = compute_media_cost(job.provider, job.model, seconds=seconds)
            return seconds, priced.total
        quality = params.get("quality")
        priced = compute_media_cost(
            job.provider, job.model, images=len(stored), size=size, quality=quality
        )
        return float(len(stored)), priced.total

    def _record_call(
        self,
        session: AsyncSession,
        job: MediaJob,
        generated: _Generated | None,
        *,
        cost: tuple[float, float] = (0.0, 0.0),
        error_type: str | None = None,
    ) -> None:
        started = generated.started if generated is not None else None
        units, priced = cost
        add_record(
            session,
            CallRecord(
                user_id=job.user_id,
                kind=job.kind,
                provider=job.provider,
                model=job.model,
                provider_key_id=generated.key_id if generated else job.provider_key_id,
                gateway_key_id=job.gateway_key_id,
                latency_ms=int((time.monotonic() - started) * 1000)
                if started
                else None,
                status="error" if error_type else "ok",
                error_type=error_type,
                question=job.prompt[:PREVIEW_CHARS],
                units=units,
                cost=priced,
            ),
        )

    async def _failed(
        self, job: MediaJob, error_type: str, message: str, transient: bool
    ) -> None:
        """Back to the queue for a retry while attempts remain, else failed."""
        max_attempts = self._settings.media_max_attempts
        retry = transient and job.attempts < max_attempts
        delay_s = backoff_delay(self._settings.media_retry_delay_s, job.attempts)
        retry_at = utcnow() + timedelta(seconds=delay_s)
        async with self._sessionmaker() as session:
            if retry:
                values: dict[str, Any] = {
                    "status": "queued",
                    "worker_id": None,
                    "stage": "retrying",
                    "error_type": error_type,
                    "error_message": message,
                    "retry_at": retry_at,
                }
                extra = {
                    "reason": message,
                    "error_type": error_type,
                    "retry": True,
                    "attempt": job.attempts,
                    "max_attempts": max_attempts,
                    "retry_at": retry_at.isoformat(),
                    "retry_in_s": round(delay_s, 3),
                }
                event, status = "queued", "queued"
            else:
                values = {
                    "status": "failed",
                    "stage": "failed",
                    "error_type": error_type,
                    "error_message": message,
                    "finished_at": utcnow(),
                }
                extra = {"error_message": message, "error_type": error_type}
                event, status = "failed", "failed"
            if not await repository.update_job(
                session, job_id=job.id, values=values, where=self._mine()
            ):
                return
            if not retry:
                self._record_call(session, job, None, error_type=error_type)
            item = await events.record(session, job, event, extra, status=status)
            await session.commit()
        await self._publish(job.id, [item])
        log.info(
            "media_job_failed",
            job_id=job.id,
            error_type=error_type,
            retry=retry,
            attempt=job.attempts,
        )
        if retry:
            with contextlib.suppress(SendTaskError):  # the sweeper sends it later
                await self._queue.kick(job.id, priority=job.priority, delay_s=delay_s)


class _UnknownProvider(AihubError):
    status_code = 422
    error_type = "validation_error"
