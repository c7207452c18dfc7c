"""A generation as the proxy answers it: one OpenAI chat.completion, or OpenAI
chunks over SSE (``data: {...}`` frames, then ``data: [DONE]``), each carrying
the seed's chatId and parentId (the answer's id, to continue from it).

A failure before the first byte is an HTTP error in the seed's shape; once the
stream has begun it is a ``data: {"error": {...}}`` frame (the OpenAI SDKs
raise on it), then ``[DONE]``. A client that leaves ends the generation; its
partial answer stays stored.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import StreamingResponse

from aihub.calls.stream_errors import error_frame
from aihub.chat.sse import frames_with_pings
from aihub.chat_proxy import accounting
from aihub.chat_proxy.schemas import AnswerMessage, Choice, Completion, UsageBlock
from aihub.gateway.caller import Caller
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.runs.generation import GenerationRun
from aihub.threads import service as threads_service
from aihub.threads.errors import MessageNotFoundError
from aihub.threads.models import Message

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
DONE = b"data: [DONE]\n\n"


def _finish_reason(message: Message | None, status: str) -> str:
    if message is not None:
        reason = (message.meta_data or {}).get("finish_reason")
        if isinstance(reason, str) and reason:
            return reason
    return "stop" if status == "complete" else status


def _usage(message: Message) -> UsageBlock:
    tokens = (message.meta_data or {}).get("tokens") or {}
    prompt = int(tokens.get("prompt_tokens") or 0)
    completion = int(tokens.get("completion_tokens") or 0)
    total = int(tokens.get("total_tokens") or prompt + completion)
    return UsageBlock(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=total
    )


async def complete(
    session: AsyncSession,
    run: GenerationRun,
    *,
    gateway: GatewayRuntime,
    caller: Caller,
) -> Completion:
    """Wait for the run; the stored answer as a chat.completion, or its error.
    A gateway key is charged either way."""
    result = await run.wait()
    await accounting.charge(gateway, caller, result)
    if result.error is not None:
        raise result.error
    spec = run.spec
    message = await threads_service.find_message(
        session, thread_id=spec.thread_id, message_id=run.message_id
    )
    if message is None:  # the chat was deleted while answering
        raise MessageNotFoundError(run.message_id)
    await session.refresh(message)
    return Completion(
        id=f"chatcmpl-{message.id}",
        created=int(message.created_at.timestamp()),
        model=message.model or spec.target.model,
        provider=message.provider or spec.target.provider,
        choices=[
            Choice(
                message=AnswerMessage(content=message.content),
                finish_reason=_finish_reason(message, result.status),
            )
        ],
        usage=_usage(message),
        chatId=str(spec.thread_id),
        parentId=str(message.id),
    )


class _Chunks:
    """OpenAI chunk frames of one run."""

    def __init__(self, run: GenerationRun) -> None:
        spec = run.spec
        self.head: dict[str, Any] = {
            "id": f"chatcmpl-{run.message_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": spec.target.model,
            "provider": spec.target.provider,
            "chatId": str(spec.thread_id),
            "parentId": str(run.message_id),
        }

    def frame(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {**self.head, "choices": choices, **extra}
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return self.frame(
            [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
        )


async def _stored_answer(
    sessionmaker: async_sessionmaker[AsyncSession], run: GenerationRun
) -> Message | None:
    async with sessionmaker() as session:
        return await threads_service.find_message(
            session, thread_id=run.spec.thread_id, message_id=run.message_id
        )


async def _body(
    run: GenerationRun,
    sessionmaker: async_sessionmaker[AsyncSession],
    include_usage: bool,
) -> AsyncIterator[bytes]:
    chunks = _Chunks(run)
    try:
        async for frame in frames_with_pings(run):
            if frame is None:
                yield b": ping\n\n"
                continue
            event, data = frame
            if event == "start":
                yield chunks.delta({"role": "assistant", "content": ""})
            elif event == "delta":
                yield chunks.delta({"content": data["content"]})
            elif event == "error":
                yield error_frame("openai", data["error_type"], data["error_message"])
            elif event == "done":
                if data["status"] != "error":
                    message = await _stored_answer(sessionmaker, run)
                    reason = _finish_reason(message, data["status"])
                    yield chunks.delta({}, reason)
                if include_usage:
                    yield chunks.frame([], usage=data["usage"])
        yield DONE
    finally:
        if not run.finished.is_set():  # the client went away mid-stream
            run.stop("client_disconnected")


def stream_response(
    run: GenerationRun,
    *,
    gateway: GatewayRuntime,
    caller: Caller,
    include_usage: bool,
    headers: dict[str, str],
) -> StreamingResponse:
    accounting.charge_when_done(gateway, caller, run)
    return StreamingResponse(
        _body(run, run.hub.sessionmaker, include_usage),
        media_type="text/event-stream",
        headers={**HEADERS, **headers},
    )
