"""/api/threads: threads and stored messages (seed 003). Nothing here calls a
model; sending and streaming live with the chat core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from aihub.auth.deps import CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.threads import branches as threads_branches
from aihub.threads import export as threads_export
from aihub.threads import service as threads_service
from aihub.threads.deps import ThreadId, ThreadQuery
from aihub.threads.models import Message, Thread
from aihub.threads.schemas import (
    MessageBranchesRead,
    MessageCreate,
    MessageRead,
    ThreadCreate,
    ThreadDetailRead,
    ThreadFork,
    ThreadIds,
    ThreadRead,
    ThreadTreeRead,
    ThreadUpdate,
)

router = APIRouter(prefix="/api/threads", tags=["threads"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _ERROR}


@router.get("/", response_model=list[ThreadRead], summary="List threads")
async def list_threads(
    user: CurrentUser, session: DbSession, page: Page, filters: ThreadQuery
) -> Sequence[Thread]:
    return await threads_service.list_threads(
        session, user=user, page=page, filters=filters
    )


@router.post(
    "/",
    status_code=201,
    response_model=ThreadDetailRead,
    responses=_NOT_FOUND,
    summary="Create a thread (stores the system prompt and first message)",
)
async def create_thread(
    body: ThreadCreate, user: CurrentUser, session: DbSession
) -> ThreadDetailRead:
    detail = await threads_service.create_thread(session, user=user, data=body)
    return ThreadDetailRead.build(detail.thread, detail.messages)


@router.post("/bulk-delete", status_code=204, summary="Delete several of your threads")
async def bulk_delete_threads(
    body: ThreadIds, user: CurrentUser, session: DbSession
) -> Response:
    await threads_service.bulk_delete_threads(
        session, user=user, thread_ids=body.thread_ids
    )
    return Response(status_code=204)


@router.post(
    "/bulk-archive",
    response_model=list[ThreadRead],
    summary="Archive several of your threads",
)
async def bulk_archive_threads(
    body: ThreadIds, user: CurrentUser, session: DbSession
) -> Sequence[Thread]:
    return await threads_service.bulk_archive_threads(
        session, user=user, thread_ids=body.thread_ids
    )


@router.get(
    "/{thread_id}",
    response_model=ThreadDetailRead,
    responses=_NOT_FOUND,
    summary="A thread with the messages of its active branch",
)
async def get_thread(
    thread_id: ThreadId, user: CurrentUser, session: DbSession
) -> ThreadDetailRead:
    detail = await threads_service.get_thread_detail(
        session, user=user, thread_id=thread_id
    )
    return ThreadDetailRead.build(detail.thread, detail.messages)


@router.put(
    "/{thread_id}",
    response_model=ThreadDetailRead,
    responses=_NOT_FOUND,
    summary="Update a thread",
)
async def update_thread(
    thread_id: ThreadId, body: ThreadUpdate, user: CurrentUser, session: DbSession
) -> ThreadDetailRead:
    detail = await threads_service.update_thread(
        session, user=user, thread_id=thread_id, data=body
    )
    return ThreadDetailRead.build(detail.thread, detail.messages)


@router.delete(
    "/{thread_id}", status_code=204, responses=_NOT_FOUND, summary="Delete a thread"
)
async def delete_thread(
    thread_id: ThreadId, user: CurrentUser, session: DbSession
) -> Response:
    await threads_service.delete_thread(session, user=user, thread_id=thread_id)
    return Response(status_code=204)


@router.post(
    "/{thread_id}/messages",
    status_code=201,
    response_model=MessageRead,
    responses=_NOT_FOUND,
    summary="Add a message without generating a reply",
)
async def create_message(
    thread_id: ThreadId, body: MessageCreate, user: CurrentUser, session: DbSession
) -> Message:
    return await threads_service.create_message(
        session, user=user, thread_id=thread_id, data=body
    )


@router.get(
    "/{thread_id}/messages/{message_id}/branches",
    response_model=MessageBranchesRead,
    responses=_NOT_FOUND,
    summary="The siblings of a message (same parent) and which one is active",
)
async def list_message_branches(
    thread_id: ThreadId, message_id: IdPath, user: CurrentUser, session: DbSession
) -> MessageBranchesRead:
    found = await threads_branches.list_siblings(
        session, user=user, thread_id=thread_id, message_id=message_id
    )
    return MessageBranchesRead(
        message_id=found.message.id,
        parent_id=found.message.parent_id,
        active_index=found.active_index,
        siblings=[MessageRead.model_validate(m) for m in found.siblings],
    )


@router.post(
    "/{thread_id}/messages/{message_id}/activate",
    response_model=ThreadDetailRead,
    responses=_NOT_FOUND,
    summary="Make the branch through a message the active one",
)
async def activate_message(
    thread_id: ThreadId, message_id: IdPath, user: CurrentUser, session: DbSession
) -> ThreadDetailRead:
    detail = await threads_branches.activate_message(
        session, user=user, thread_id=thread_id, message_id=message_id
    )
    return ThreadDetailRead.build(detail.thread, detail.messages)


@router.get(
    "/{thread_id}/tree",
    response_model=ThreadTreeRead,
    responses=_NOT_FOUND,
    summary="Every message of a thread, all branches",
)
async def get_thread_tree(
    thread_id: ThreadId, user: CurrentUser, session: DbSession
) -> ThreadTreeRead:
    tree = await threads_branches.get_tree(session, user=user, thread_id=thread_id)
    return ThreadTreeRead(
        active_message_id=tree.thread.active_message_id,
        messages=[MessageRead.model_validate(m) for m in tree.messages],
    )


@router.post(
    "/{thread_id}/fork",
    status_code=201,
    response_model=ThreadDetailRead,
    responses=_NOT_FOUND,
    summary="Copy the path up to a message into a new thread",
)
async def fork_thread(
    thread_id: ThreadId, body: ThreadFork, user: CurrentUser, session: DbSession
) -> ThreadDetailRead:
    detail = await threads_branches.fork_thread(
        session, user=user, thread_id=thread_id, data=body
    )
    return ThreadDetailRead.build(detail.thread, detail.messages)


@router.get(
    "/{thread_id}/export",
    response_class=Response,
    responses={
        **_NOT_FOUND,
        200: {
            "description": "The thread as an attachment",
            "content": {"text/markdown": {}, "application/json": {}},
        },
    },
    summary="Export a thread as Markdown or JSON",
)
async def export_thread(
    thread_id: ThreadId,
    user: CurrentUser,
    session: DbSession,
    export_format: Annotated[threads_export.ExportFormat, Query(alias="format")] = "md",
    branches: threads_export.ExportBranches = "active",
) -> Response:
    exported = await threads_export.export_thread(
        session,
        user=user,
        thread_id=thread_id,
        export_format=export_format,
        branches=branches,
    )
    return Response(
        content=exported.body,
        media_type=exported.media_type,
        headers={"Content-Disposition": exported.content_disposition},
    )
