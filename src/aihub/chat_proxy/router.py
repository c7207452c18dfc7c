"""Seed 004's proxy API: /api/chat, /api/chat/completions, /api/models,
/api/status and /api/chats (bearer: a gateway key or a JWT)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from starlette.responses import StreamingResponse

from aihub.chat.deps import Chat
from aihub.chat_proxy import replies, service
from aihub.chat_proxy.conversation import ask_of, start_answer
from aihub.chat_proxy.deps import ProxyCaller
from aihub.chat_proxy.schemas import (
    ChatCreate,
    ChatCreated,
    ChatDetail,
    ChatList,
    ChatRename,
    ChatRequest,
    CleanupRequest,
    CleanupResult,
    Completion,
    CompletionRequest,
    DeleteResult,
    MediaWorkerStatus,
    ModelList,
    RenameResult,
    StatusRead,
)
from aihub.core.deps import DbSession
from aihub.core.pagination import Page
from aihub.runtime import RuntimeDep

router = APIRouter(prefix="/api", tags=["proxy (seed 004)"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: _ERROR for code in (400, 401, 402, 403, 404, 429, 502, 504)
}
_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/event-stream": {}},
        "description": "chat.completion, or with stream: true OpenAI chunks "
        "(data: {...} frames, then data: [DONE]), all with chatId and parentId",
    },
    **_ERRORS,
}
ChatId = Annotated[str, Path(alias="chatId", min_length=1, max_length=64)]


async def _answer(
    body: ChatRequest | CompletionRequest,
    who: ProxyCaller,
    session: DbSession,
    chat: Chat,
    runtime: RuntimeDep,
    response: Response,
) -> Completion | StreamingResponse:
    run, headers = await start_answer(
        session,
        chat,
        gateway=runtime.gateway,
        user=who.user,
        caller=who.caller,
        ask=ask_of(body),
    )
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return replies.stream_response(
            run,
            gateway=runtime.gateway,
            caller=who.caller,
            include_usage=include_usage,
            headers=headers,
        )
    response.headers.update(headers)
    return await replies.complete(
        session, run, gateway=runtime.gateway, caller=who.caller
    )


@router.post(
    "/chat",
    response_model=Completion,
    responses=_ANSWER,
    summary="Send a message (or messages); chatId and parentId continue a chat",
)
@router.post("/chat/", response_model=Completion, include_in_schema=False)
async def chat(
    body: ChatRequest,
    who: ProxyCaller,
    session: DbSession,
    chat: Chat,
    runtime: RuntimeDep,
    response: Response,
) -> Any:
    return await _answer(body, who, session, chat, runtime, response)


@router.post(
    "/chat/completions",
    response_model=Completion,
    responses=_ANSWER,
    summary="OpenAI-compatible chat completions (stream too), with chatId/parentId",
)
async def chat_completions(
    body: CompletionRequest,
    who: ProxyCaller,
    session: DbSession,
    chat: Chat,
    runtime: RuntimeDep,
    response: Response,
) -> Any:
    return await _answer(body, who, session, chat, runtime, response)


@router.get(
    "/models",
    response_model=ModelList,
    responses=_ERRORS,
    summary="Chat models, in OpenAI's list shape",
)
async def list_models(
    who: ProxyCaller, session: DbSession, runtime: RuntimeDep
) -> ModelList:
    discovered = await runtime.discovery.models(session, user_id=who.user.id)
    return service.list_models(discovered)


@router.get(
    "/status",
    response_model=StatusRead,
    responses=_ERRORS,
    summary="The caller's provider keys: OK, WAIT (until) or INVALID",
)
async def get_status(who: ProxyCaller, runtime: RuntimeDep) -> StatusRead:
    accounts = await runtime.key_pool.pool_status(who.user.id)
    status = service.shape_status(accounts)
    seen = await runtime.media.worker_seen()
    status.media_worker = MediaWorkerStatus(
        status=seen.status, last_seen_s=seen.last_seen_s, warning=seen.warning
    )
    return status


@router.post(
    "/chats",
    status_code=201,
    response_model=ChatCreated,
    responses=_ERRORS,
    summary="Create a chat",
)
async def create_chat(
    body: ChatCreate, who: ProxyCaller, session: DbSession
) -> ChatCreated:
    thread = await service.create_chat(session, user=who.user, data=body)
    return ChatCreated(chatId=str(thread.id))


@router.get(
    "/chats",
    response_model=ChatList,
    responses=_ERRORS,
    summary="The caller's chats, most recently active first",
)
async def list_chats(who: ProxyCaller, session: DbSession, page: Page) -> ChatList:
    return await service.list_chats(session, user=who.user, page=page)


@router.post(
    "/chats/cleanup",
    response_model=CleanupResult,
    responses=_ERRORS,
    summary="Delete chats by age, message counts, or beyond the newest maxChats",
)
async def cleanup_chats(
    body: CleanupRequest, who: ProxyCaller, session: DbSession
) -> CleanupResult:
    return await service.cleanup_chats(session, user=who.user, data=body)


@router.get(
    "/chats/{chatId}",
    response_model=ChatDetail,
    responses=_ERRORS,
    summary="A chat's history (its current branch)",
)
async def get_chat(chat_id: ChatId, who: ProxyCaller, session: DbSession) -> ChatDetail:
    return await service.get_chat_detail(session, user=who.user, chat_id=chat_id)


@router.delete(
    "/chats/{chatId}",
    response_model=DeleteResult,
    responses=_ERRORS,
    summary="Delete a chat and its messages",
)
async def delete_chat(
    chat_id: ChatId, who: ProxyCaller, session: DbSession
) -> DeleteResult:
    await service.delete_chat(session, user=who.user, chat_id=chat_id)
    return DeleteResult(success=True)


@router.put(
    "/chats/{chatId}/rename",
    response_model=RenameResult,
    responses=_ERRORS,
    summary="Rename a chat",
)
async def rename_chat(
    chat_id: ChatId, body: ChatRename, who: ProxyCaller, session: DbSession
) -> RenameResult:
    thread = await service.rename_chat(
        session, user=who.user, chat_id=chat_id, name=body.name
    )
    return RenameResult(success=True, chatId=str(thread.id), name=thread.title)
