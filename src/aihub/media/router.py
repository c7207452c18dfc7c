"""/api/media/jobs: image and video generation jobs (JWT or gateway key), with
live progress over SSE and GET as the polling fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Response
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, format_sse_event

from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.files import service as files_service
from aihub.files.deps import BaseUrl
from aihub.gateway.deps import GatewayCaller
from aihub.media import service
from aihub.media.deps import Media
from aihub.media.events import JobEvent
from aihub.media.schemas import (
    JobStatus,
    MediaJobCreate,
    MediaJobRead,
    MediaJobSubmitted,
    MediaKind,
)

router = APIRouter(prefix="/api/media", tags=["media"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: _ERROR for code in (400, 403, 404, 409, 422)
}
_SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "SSE: queued, started, progress..., then completed, failed "
        "or cancelled; `id:` is the event's number (resume with Last-Event-ID)",
    },
    204: {"description": "The job is over and you have every event"},
    404: _ERROR,
}
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.post(
    "/jobs",
    status_code=201,
    response_model=MediaJobSubmitted,
    responses=_ERRORS,
    summary="Submit an image or video generation job",
)
@router.post("/jobs/", status_code=201, include_in_schema=False)
async def create_job(
    body: MediaJobCreate,
    caller: GatewayCaller,
    session: DbSession,
    media: Media,
    base_url: BaseUrl,
) -> MediaJobSubmitted:
    submitted = await service.submit_job(session, media, caller=caller, data=body)
    read = (await service.describe_jobs(session, [submitted.job], base_url=base_url))[0]
    return MediaJobSubmitted(**read.model_dump(), warning=submitted.warning)


@router.get("/jobs", response_model=list[MediaJobRead], summary="List your jobs")
@router.get("/jobs/", include_in_schema=False)
async def list_jobs(
    caller: GatewayCaller,
    session: DbSession,
    page: Page,
    base_url: BaseUrl,
    status: Annotated[JobStatus | None, Query()] = None,
    kind: Annotated[MediaKind | None, Query()] = None,
) -> list[MediaJobRead]:
    jobs = await service.list_jobs(
        session,
        user_id=caller.user_id,
        status=status,
        kind=kind,
        skip=page.skip,
        limit=page.limit,
    )
    return await service.describe_jobs(session, jobs, base_url=base_url)


@router.get(
    "/jobs/{job_id}",
    response_model=MediaJobRead,
    responses=_ERRORS,
    summary="One job: status, progress and artifacts (the polling fallback)",
)
async def get_job(
    job_id: IdPath, caller: GatewayCaller, session: DbSession, base_url: BaseUrl
) -> MediaJobRead:
    job = await service.get_job(session, user_id=caller.user_id, job_id=job_id)
    return (await service.describe_jobs(session, [job], base_url=base_url))[0]


@router.delete(
    "/jobs/{job_id}",
    response_model=MediaJobRead,
    responses=_ERRORS,
    summary="Cancel a queued or running job",
)
async def cancel_job(
    job_id: IdPath,
    caller: GatewayCaller,
    session: DbSession,
    media: Media,
    base_url: BaseUrl,
) -> MediaJobRead:
    job = await service.cancel_job(
        session, media, user_id=caller.user_id, job_id=job_id
    )
    return (await service.describe_jobs(session, [job], base_url=base_url))[0]


@router.get(
    "/jobs/{job_id}/events",
    response_model=None,
    responses=_SSE,
    summary="Follow a job's progress (SSE, resumable with Last-Event-ID)",
)
async def job_events(
    job_id: IdPath,
    caller: GatewayCaller,
    session: DbSession,
    media: Media,
    base_url: BaseUrl,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=2_147_483_647)
    ] = None,
    after: Annotated[int | None, Query(ge=0, le=2_147_483_647)] = None,
) -> Response:
    items = await service.open_events(
        session,
        media,
        user_id=caller.user_id,
        job_id=job_id,
        last_event_id=last_event_id if last_event_id is not None else after or 0,
    )
    if items is None:
        return Response(status_code=204)
    return EventSourceResponse(_frames(items, base_url), headers=SSE_HEADERS)


def _with_links(data: dict[str, Any], base_url: str) -> dict[str, Any]:
    artifacts = data.get("artifacts")
    if not isinstance(artifacts, list):
        return data
    linked = [
        {**item, "url": files_service.absolute(str(item.get("url")), base_url)}
        for item in artifacts
        if isinstance(item, dict)
    ]
    return {**data, "artifacts": linked}


async def _frames(
    items: AsyncIterator[JobEvent | None], base_url: str
) -> AsyncIterator[bytes]:
    async for item in items:
        if item is None:
            yield KEEPALIVE_COMMENT
            continue
        data = orjson.dumps(_with_links(item.data, base_url)).decode()
        yield format_sse_event(data_str=data, event=item.event, id=str(item.seq))
