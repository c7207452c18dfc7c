"""Media jobs as the API sees them: submit (validated against the catalog),
list, read, cancel, follow their events, and OpenAI's synchronous
images.generate on top. The work itself happens in worker.py."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq.exceptions import SendTaskError

from aihub.catalog import service as catalog_service
from aihub.catalog.errors import MediaRequestInvalidError
from aihub.catalog.loader import find_provider_model, load_catalog
from aihub.catalog.schemas import ModelInfo
from aihub.core.db import utcnow
from aihub.core.errors import (
    AihubError,
    ApiError,
    ApiKeyNotFoundError,
    BillingError,
    InvalidContextError,
    RateLimitError,
    ValidationFailedError,
)
from aihub.core.settings import Settings
from aihub.files import service as files_service
from aihub.files.blobs import BlobStore
from aihub.gateway import limits
from aihub.gateway.caller import Caller
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events import EventBus
from aihub.media import events, presence, repository
from aihub.media.errors import (
    MediaJobFinishedError,
    MediaJobNotFoundError,
    MediaJobTimeoutError,
    MediaModelForbiddenError,
)
from aihub.media.events import JobEvent
from aihub.media.models import MediaJob
from aihub.media.queue import PRIORITIES, PRIORITY_NAMES, JobQueue
from aihub.media.schemas import (
    ArtifactRead,
    MediaJobCreate,
    MediaJobRead,
    OpenAIImage,
    OpenAIImageRequest,
    OpenAIImagesResponse,
)
from aihub.provider_keys.pool import KeyPool
from aihub.providers.media_registry import MEDIA_PROVIDERS

log = structlog.get_logger(__name__)

_ERRORS: dict[str, type[AihubError]] = {
    "rate_limit": RateLimitError,
    "billing": BillingError,
    "api_key_not_found": ApiKeyNotFoundError,
    "invalid_context": InvalidContextError,
    "validation_error": ValidationFailedError,
}


@dataclass(frozen=True, slots=True)
class MediaContext:
    """What the media service needs from the app (built per request by deps)."""

    sessionmaker: async_sessionmaker[AsyncSession]
    bus: EventBus
    queue: JobQueue
    pool: KeyPool
    blobs: BlobStore
    settings: Settings
    gateway: GatewayRuntime
    """The gateway key limits (rpm, budget) and spend."""
    worker_seen: Callable[[], Awaitable[presence.WorkerSeen]]


# -- submit -----------------------------------------------------------------------


def _own_entry(data: MediaJobCreate) -> None:
    """The model must be one the named provider itself lists (no fallback to
    another provider's entry: its adapter could not serve it)."""
    info = find_provider_model(data.provider, data.model)
    if info is None or info.kind != data.kind:
        raise MediaRequestInvalidError(
            f"{data.model!r} is not a known {data.kind} model of {data.provider!r}"
        )


async def _check_gateway_key(
    ctx: MediaContext, caller: Caller, requested: str, info: ModelInfo
) -> None:
    """A gateway key's limits, as /v1/chat/completions applies them: its
    models (exact or glob, on the name sent, the catalog id or an alias),
    budget and rpm. JWT callers have none."""
    policy = caller.key
    if policy is None:
        return
    names = (requested, info.id, *info.aliases)
    allowed = next((n for n in names if limits.model_allowed(policy, n)), None)
    if allowed is None:
        raise MediaModelForbiddenError(f"This API key may not use {requested!r}")
    await limits.check_request(ctx.gateway, caller, allowed, 0)


@dataclass(frozen=True, slots=True)
class Submitted:
    job: MediaJob
    warning: str | None
    """Set when no media worker has been seen (the job waits in the queue)."""


async def submit_job(
    session: AsyncSession, ctx: MediaContext, *, caller: Caller, data: MediaJobCreate
) -> Submitted:
    _own_entry(data)
    info = catalog_service.check_media_request(
        data.provider,
        data.model,
        kind=data.kind,
        count=data.count,
        size=data.size,
        width=data.width,
        height=data.height,
        duration=data.duration,
        quality=data.quality,
        has_input_image=data.input_image is not None,
    )
    await _check_gateway_key(ctx, caller, data.model, info)
    width, height = _dimensions(data)
    input_file = None
    if data.input_image is not None:
        input_file = await files_service.resolve_ref(
            session, user_id=caller.user_id, ref=data.input_image
        )
    await session.commit()  # the key lookup may need a connection of its own
    if not await ctx.pool.has_keys(data.provider, user_id=caller.user_id):
        raise ApiKeyNotFoundError(
            f"No {data.provider} API key: add one at /api/api-keys/"
        )
    duration = data.duration
    if data.kind == "video" and duration is None and info.accepts is not None:
        duration = info.accepts.duration.min if info.accepts.duration else None
    job = repository.add_job(
        session,
        MediaJob(
            user_id=caller.user_id,
            gateway_key_id=caller.gateway_key_id,
            kind=data.kind,
            provider=data.provider,
            model=info.id,
            prompt=data.prompt,
            params={
                "api_model": info.api_model,
                "count": data.count,
                "width": width,
                "height": height,
                "duration": duration,
                "quality": data.quality,
                "input_file_id": input_file.id if input_file else None,
                "input_image": files_service.file_path(input_file.token)
                if input_file
                else None,
            },
            priority=PRIORITIES[data.priority],
            status="queued",
            stage="queued",
        ),
    )
    await session.flush()
    seen = await ctx.worker_seen()
    queued_data: dict[str, Any] = {"priority": data.priority}
    if seen.warning is not None:
        queued_data["warning"] = seen.warning
    queued = await events.record(session, job, "queued", queued_data)
    await session.commit()
    await events.publish(ctx.bus, job.id, [queued])
    await kick(ctx.queue, job)
    log.info(
        "media_job_submitted",
        job_id=job.id,
        kind=job.kind,
        provider=job.provider,
        model=job.model,
        priority=data.priority,
        warning=seen.warning,
    )
    return Submitted(job, seen.warning)


def _dimensions(data: MediaJobCreate) -> tuple[int | None, int | None]:
    if data.size is not None:
        width, _, height = data.size.strip().lower().partition("x")
        return int(width), int(height)
    return data.width, data.height


async def kick(queue: JobQueue, job: MediaJob) -> None:
    """Queue the job; when the broker is away the job stays queued in the
    database and the worker's sweeper sends it later."""
    try:
        await queue.kick(job.id, priority=job.priority)
    except SendTaskError as exc:
        log.warning("media_job_not_queued", job_id=job.id, error=str(exc.__cause__))


# -- read ---------------------------------------------------------------------------


async def get_job(session: AsyncSession, *, user_id: int, job_id: int) -> MediaJob:
    job = await repository.get_job(session, job_id=job_id, user_id=user_id)
    if job is None:
        raise MediaJobNotFoundError()
    return job


async def list_jobs(
    session: AsyncSession,
    *,
    user_id: int,
    status: str | None,
    kind: str | None,
    skip: int,
    limit: int,
) -> Sequence[MediaJob]:
    return await repository.list_jobs(
        session, user_id=user_id, status=status, kind=kind, skip=skip, limit=limit
    )


async def describe_jobs(
    session: AsyncSession, jobs: Sequence[MediaJob], *, base_url: str | None
) -> list[MediaJobRead]:
    files = await files_service.list_job_files(session, job_ids=[j.id for j in jobs])
    by_job: dict[int, list[ArtifactRead]] = {}
    for row in files:
        if row.media_job_id is None:
            continue
        by_job.setdefault(row.media_job_id, []).append(
            ArtifactRead(
                url=files_service.file_url(row.token, base_url),
                media_type=row.media_type,
                bytes=row.bytes,
                width=row.width,
                height=row.height,
                duration_s=row.duration_s,
            )
        )
    return [_read(job, by_job.get(job.id, []), base_url) for job in jobs]


def _read(
    job: MediaJob, artifacts: list[ArtifactRead], base: str | None
) -> MediaJobRead:
    params: dict[str, Any] = job.params or {}
    input_image = params.get("input_image")
    return MediaJobRead.model_validate(
        {
            "id": job.id,
            "kind": job.kind,
            "provider": job.provider,
            "model": job.model,
            "prompt": job.prompt,
            "status": job.status,
            "priority": PRIORITY_NAMES.get(job.priority, "normal"),
            "percent": job.percent,
            "stage": job.stage,
            "count": int(params.get("count") or 1),
            "width": params.get("width"),
            "height": params.get("height"),
            "duration": params.get("duration"),
            "quality": params.get("quality"),
            "input_image": files_service.absolute(input_image, base)
            if input_image
            else None,
            "attempts": job.attempts,
            "error_type": job.error_type,
            "error_message": job.error_message,
            "cost": job.cost,
            "artifacts": artifacts,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
            "started_at": job.started_at,
            "finished_at": job.finished_at,
        }
    )


# -- cancel -------------------------------------------------------------------------


async def cancel_job(
    session: AsyncSession, ctx: MediaContext, *, user_id: int, job_id: int
) -> MediaJob:
    """Cancel a queued or running job; the worker running it stops and tells
    the provider where it can (see the adapters)."""
    job = await get_job(session, user_id=user_id, job_id=job_id)
    status_before = job.status
    cancelled = await repository.update_job(
        session,
        job_id=job.id,
        values={"status": "cancelled", "stage": "cancelled", "finished_at": utcnow()},
        where=(MediaJob.status.in_(repository.ACTIVE),),
    )
    if not cancelled:
        await session.rollback()
        current = await repository.get_job(session, job_id=job_id, user_id=user_id)
        status = current.status if current is not None else status_before
        raise MediaJobFinishedError(f"The job has already finished ({status})")
    event = await events.record(
        session,
        job,
        "cancelled",
        {"reason": "cancelled by the user"},
        status="cancelled",
    )
    await session.commit()
    await events.publish(ctx.bus, job.id, [event])
    try:
        await ctx.bus.publish(events.CANCEL_CHANNEL, {"job_id": job.id})
    except BackendUnavailableError:
        log.warning("media_cancel_not_published", job_id=job.id)
    log.info("media_job_cancelled", job_id=job.id)
    return await get_job(session, user_id=user_id, job_id=job_id)


# -- events -------------------------------------------------------------------------


async def open_events(
    session: AsyncSession,
    ctx: MediaContext,
    *,
    user_id: int,
    job_id: int,
    last_event_id: int,
) -> AsyncIterator[JobEvent | None] | None:
    """The job's events after ``last_event_id``; None when the job is over and
    the client has everything (HTTP 204 tells EventSource to stop)."""
    job = await get_job(session, user_id=user_id, job_id=job_id)
    if job.status in repository.FINISHED:
        final = await events.last_event(ctx.sessionmaker, job_id=job.id)
        if final is not None and last_event_id >= final.seq:
            return None
    return events.follow(
        ctx.sessionmaker, ctx.bus, job_id=job.id, after=max(0, last_event_id)
    )


async def wait_for_job(ctx: MediaContext, *, job_id: int, timeout_s: float) -> JobEvent:
    """The job's final event, waiting at most ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            async for item in events.follow(ctx.sessionmaker, ctx.bus, job_id=job_id):
                if item is not None and item.is_terminal:
                    return item
    except TimeoutError:
        pass
    raise MediaJobTimeoutError(
        f"Media job {job_id} is still running: follow it at /api/media/jobs/{job_id}"
    )


def error_for(data: dict[str, Any]) -> AihubError:
    """The hub error a failed (or cancelled) job's final event stands for."""
    message = str(data.get("error_message") or "The media job did not complete")
    error_class = _ERRORS.get(str(data.get("error_type")), ApiError)
    return error_class(message)


# -- OpenAI's images.generate ---------------------------------------------------------


def image_providers(model: str) -> list[str]:
    """Media providers whose own catalog entry lists ``model`` as an image
    model, in the catalog's order (the order of those entries)."""
    order = load_catalog().models
    found = [
        (order.index(info), provider)
        for provider in MEDIA_PROVIDERS
        if (info := find_provider_model(provider, model)) is not None
        and info.kind == "image"
    ]
    return [provider for _, provider in sorted(found)]


async def _image_provider(ctx: MediaContext, caller: Caller, model: str) -> str:
    """The first serving provider the caller has a key for (own or global);
    without any, the first one (the submit then says which key is missing)."""
    serving = image_providers(model)
    if not serving:
        raise ValidationFailedError(f"{model!r} is not a known image model")
    for provider in serving:
        if await ctx.pool.has_keys(provider, user_id=caller.user_id):
            return provider
    return serving[0]


async def generate_images(
    session: AsyncSession,
    ctx: MediaContext,
    *,
    caller: Caller,
    body: OpenAIImageRequest,
    base_url: str,
) -> dict[str, Any]:
    """Submit an interactive job, wait for it, answer in OpenAI's shape."""
    provider = body.provider or await _image_provider(ctx, caller, body.model)
    submitted = await submit_job(
        session,
        ctx,
        caller=caller,
        data=MediaJobCreate(
            kind="image",
            provider=provider,
            model=body.model,
            prompt=body.prompt,
            count=body.n,
            size=body.size,
            quality=body.quality,
            priority="interactive",
        ),
    )
    job = submitted.job
    final = await wait_for_job(
        ctx, job_id=job.id, timeout_s=ctx.settings.media_wait_timeout_s
    )
    if final.event != "completed":
        raise error_for(final.data)
    rows = await files_service.list_job_files(session, job_ids=[job.id])
    images = []
    for row in rows:
        if body.response_format == "b64_json":
            data = await files_service.read_file(ctx.blobs, row)
            images.append(OpenAIImage(b64_json=base64.b64encode(data).decode()))
        else:
            images.append(OpenAIImage(url=files_service.file_url(row.token, base_url)))
    return OpenAIImagesResponse(created=int(time.time()), data=images).to_wire()
