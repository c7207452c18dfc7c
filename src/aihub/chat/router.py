"""Sending and streaming in threads, stop, regenerate and edit (seed 003)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from starlette.responses import StreamingResponse

from aihub.auth.deps import CurrentUser
from aihub.chat import service
from aihub.chat.completion import complete
from aihub.chat.deps import DEFAULT_TIMEOUT, Chat, Runs, Timeout, UseContext
from aihub.chat.resume import assistant_message, stored_frames
from aihub.chat.schemas import (
    CompletionRead,
    CompletionRequest,
    EditMessage,
    RegenerateOptions,
    SendMessage,
    StopResult,
    ThreadStreamCreate,
)
from aihub.chat.sse import numbered_body, sse_response, stream_response
from aihub.core.deps import AppSettings, DbSession
from aihub.core.ids import IdQuery
from aihub.runs.generation import GenerationRun
from aihub.runtime import RuntimeDep
from aihub.threads import service as threads_service
from aihub.threads.deps import ThreadId
from aihub.threads.errors import MessageNotFoundError
from aihub.threads.models import Message
from aihub.threads.schemas import MessageRead, ThreadRead

router = APIRouter(prefix="/api/threads", tags=["chat"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: _ERROR for code in (400, 402, 404, 429, 502, 504)
}
_SSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "SSE: start, delta..., [error], done (see the README)",
    },
    **_ERRORS,
}
STOPPED = "Генерация прервана"
NOTHING_TO_STOP = "Нет активной генерации"


async def _answer(session: DbSession, run: GenerationRun) -> Message:
    """Wait for the run; its stored message, or its error raised."""
    result = await run.wait()
    if result.error is not None:
        raise result.error
    message = await threads_service.find_message(
        session, thread_id=run.spec.thread_id, message_id=run.message_id
    )
    if message is None:  # deleted with its thread while generating
        raise MessageNotFoundError(run.message_id)
    await session.refresh(message)
    return message


@router.post(
    "/stream",
    response_class=StreamingResponse,
    responses=_SSE,
    summary="Create a thread and stream the answer to its initial message",
)
async def create_and_stream(
    body: ThreadStreamCreate,
    user: CurrentUser,
    session: DbSession,
    chat: Chat,
    timeout_s: Timeout = DEFAULT_TIMEOUT,
) -> StreamingResponse:
    thread, run = await service.create_and_stream(
        session, chat, user=user, body=body, timeout_s=timeout_s
    )
    info = ThreadRead.model_validate(thread).model_dump(mode="json")
    return stream_response(run, before=[("thread", info)])


@router.post(
    "/{thread_id}/send",
    response_model=MessageRead,
    responses=_ERRORS,
    summary="Send a message and get the answer",
)
async def send_message(
    thread_id: ThreadId,
    body: SendMessage,
    user: CurrentUser,
    session: DbSession,
    chat: Chat,
    use_context: UseContext = True,
    timeout_s: Timeout = DEFAULT_TIMEOUT,
) -> Message:
    run = await service.send(
        session,
        chat,
        user=user,
        thread_id=thread_id,
        body=body,
        use_context=use_context,
        timeout_s=timeout_s,
    )
    return await _answer(session, run)


@router.post(
    "/{thread_id}/stream",
    response_class=StreamingResponse,
    responses=_SSE,
    summary="Send a message and stream the answer (SSE)",
)
async def stream_message(
    thread_id: ThreadId,
    body: SendMessage,
    user: CurrentUser,
    session: DbSession,
    chat: Chat,
    use_context: UseContext = True,
    timeout_s: Timeout = DEFAULT_TIMEOUT,
) -> StreamingResponse:
    run = await service.send(
        session,
        chat,
        user=user,
        thread_id=thread_id,
        body=body,
        use_context=use_context,
        timeout_s=timeout_s,
    )
    return stream_response(run)


@router.get(
    "/{thread_id}/stream",
    response_class=StreamingResponse,
    responses=_SSE,
    summary="Re-attach to an answer: frames after Last-Event-ID, then the live tail",
)
async def resume_stream(
    thread_id: ThreadId,
    user: CurrentUser,
    session: DbSession,
    runs: Runs,
    message_id: IdQuery | None = None,
    last_event_id: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, description="The last frame received"),
    ] = None,
) -> StreamingResponse:
    await threads_service.get_thread(session, user=user, thread_id=thread_id)
    message = await assistant_message(
        session, thread_id=thread_id, message_id=message_id
    )
    run = runs.find(message.id)
    if run is not None and run.spec.thread_id == thread_id:
        return stream_response(run, after=last_event_id or 0)
    frames = stored_frames(
        runs.sessionmaker,
        thread_id=thread_id,
        message_id=message.id,
        poll_s=runs.flush_interval_s,
    )
    return sse_response(numbered_body(frames))


@router.post(
    "/{thread_id}/stream/stop",
    response_model=StopResult,
    responses=_ERRORS,
    summary="Stop the thread's running generation (from any process)",
)
async def stop_stream(
    thread_id: ThreadId,
    user: CurrentUser,
    session: DbSession,
    runs: Runs,
    message_id: IdQuery | None = None,
) -> StopResult:
    await threads_service.get_thread(session, user=user, thread_id=thread_id)
    stopped = await runs.request_stop(
        user_id=user.id, thread_id=thread_id, message_id=message_id
    )
    return StopResult(success=stopped, message=STOPPED if stopped else NOTHING_TO_STOP)


@router.post(
    "/{thread_id}/messages/{message_id}/regenerate",
    response_model=MessageRead,
    responses=_SSE,
    summary="Answer again (a new branch); ?stream=true for SSE",
)
async def regenerate(
    thread_id: ThreadId,
    message_id: ThreadId,
    user: CurrentUser,
    session: DbSession,
    chat: Chat,
    body: RegenerateOptions | None = None,
    use_context: UseContext = True,
    stream: bool = False,
    timeout_s: Timeout = DEFAULT_TIMEOUT,
) -> Any:
    run = await service.regenerate(
        session,
        chat,
        user=user,
        thread_id=thread_id,
        message_id=message_id,
        body=body or RegenerateOptions(),
        use_context=use_context,
        timeout_s=timeout_s,
    )
    return stream_response(run) if stream else await _answer(session, run)


@router.post(
    "/{thread_id}/messages/{message_id}/edit",
    response_model=MessageRead,
    responses=_SSE,
    summary="Edit a user message (a new branch) and answer it; ?stream=true for SSE",
)
async def edit_message(
    thread_id: ThreadId,
    message_id: ThreadId,
    body: EditMessage,
    user: CurrentUser,
    session: DbSession,
    chat: Chat,
    use_context: UseContext = True,
    stream: bool = False,
    timeout_s: Timeout = DEFAULT_TIMEOUT,
) -> Any:
    run = await service.edit(
        session,
        chat,
        user=user,
        thread_id=thread_id,
        message_id=message_id,
        body=body,
        use_context=use_context,
        timeout_s=timeout_s,
    )
    return stream_response(run) if stream else await _answer(session, run)


@router.post(
    "/completion",
    response_model=CompletionRead,
    responses=_ERRORS,
    summary="One answer without a thread; deterministic requests are cached",
)
async def completion(
    body: CompletionRequest,
    user: CurrentUser,
    session: DbSession,
    chat: Chat,
    settings: AppSettings,
    runtime: RuntimeDep,
) -> CompletionRead:
    return await complete(
        session,
        llm=chat.llm,
        cache=runtime.infra.cache,
        user=user,
        body=body,
        key_wait_s=settings.key_wait_s,
        cache_ttl_s=settings.completion_cache_ttl_s,
    )
