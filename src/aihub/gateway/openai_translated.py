"""/v1/chat/completions served by a provider of another wire (Anthropic): the
OpenAI body becomes a normalized ChatRequest, the answer an OpenAI
``chat.completion`` or a stream of ``chat.completion.chunk`` frames."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from aihub.calls.client import LlmCall, Target
from aihub.calls.errors import as_hub_error
from aihub.calls.stream_errors import stream_error
from aihub.catalog.tokens import acount_tokens
from aihub.core.errors import AihubError, BadRequestError
from aihub.gateway.caller import Caller
from aihub.gateway.limits import record_usage
from aihub.gateway.persist import StoreRequest
from aihub.gateway.translate_openai import (
    DONE_FRAME,
    OpenAIChunkStream,
    completion_to_openai,
    new_completion_id,
    sse_chunk,
)
from aihub.providers.base import (
    CompletionBuilder,
    ProviderError,
    StreamEvent,
    Usage,
)
from aihub.providers.openai_wire import chat_request_from_openai
from aihub.runtime import Runtime, runtime_of
from aihub.usage.recording import CallRecord, cost_of

OVERHEAD_HEADER = "x-aihub-overhead-ms"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def _local_usage(target: Target, prompt_chars: int, text: str) -> Usage:
    """When the provider sent no usage: the answer counted here, the prompt
    estimated from its size."""
    completion, _ = await acount_tokens(target.provider, target.model, text)
    prompt = prompt_chars // 4
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        reported=False,
    )


class _Recorder:
    def __init__(
        self,
        runtime: Runtime,
        caller: Caller,
        call: LlmCall,
        store: StoreRequest | None,
    ) -> None:
        self.writer = runtime.request_log
        self.gateway = runtime.gateway
        self.caller = caller
        self.call = call
        self.store = store

    async def save(self, answer: str, usage: Usage | None, status: str) -> None:
        if self.store is not None:
            await self.store.finish(
                status="complete" if status == "ok" else status,
                usage=usage,
                text=answer,
            )

    def done(self, usage: Usage | None, status: str, error_type: str | None) -> float:
        target = self.call.target
        self.writer.add(
            CallRecord(
                user_id=self.caller.user_id,
                kind="gateway",
                provider=target.provider,
                model=target.model,
                usage=usage,
                provider_key_id=self.call.key_id,
                gateway_key_id=self.caller.gateway_key_id,
                latency_ms=self.call.latency_ms,
                ttft_ms=self.call.ttft_ms,
                status=status,
                error_type=error_type,
            )
        )
        return cost_of(target.provider, target.model, usage)

    async def charge(self, usage: Usage | None, cost: float) -> None:
        if self.caller.key is not None:
            tokens = usage.total_tokens if usage is not None else 0
            await record_usage(self.gateway, self.caller, tokens, cost)


async def translated_chat_completion(
    request: Request,
    caller: Caller,
    target: Target,
    data: dict[str, Any],
    *,
    stream: bool,
    started: float,
    headers: dict[str, str],
    store: StoreRequest | None = None,
) -> Response:
    try:
        chat_request = chat_request_from_openai(data)
    except (ValueError, TypeError) as exc:
        raise BadRequestError(str(exc)) from exc
    runtime = runtime_of(request)
    call = runtime.llm.stream(
        user_id=caller.user_id,
        target=target,
        request=chat_request,
        wait_s=runtime.settings.key_wait_s,
    )
    recorder = _Recorder(runtime, caller, call, store)
    prompt_chars = int(request.headers.get("content-length") or 0)
    if not stream:
        return await _complete(recorder, call, prompt_chars, started, headers)
    events = call.events()
    try:  # the first event before the 200: an early failure gets its status
        first = await anext(events)
    except StopAsyncIteration:
        first = None
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        recorder.done(None, "error", error.error_type)
        raise error from exc
    options = data.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    chunks = OpenAIChunkStream(
        id=new_completion_id(),
        model=str(data.get("model")),
        include_usage=include_usage,
    )
    waited = (call.first_event_at or time.monotonic()) - call.started
    out_headers = {
        **SSE_HEADERS,
        **headers,
        OVERHEAD_HEADER: _overhead(started, waited),
    }
    body = _relay(recorder, events, first, chunks, prompt_chars)
    return StreamingResponse(body, media_type="text/event-stream", headers=out_headers)


def _overhead(started: float, waited_s: float) -> str:
    return f"{max(0.0, time.perf_counter() - started - waited_s) * 1000:.2f}"


async def _complete(
    recorder: _Recorder,
    call: LlmCall,
    prompt_chars: int,
    started: float,
    headers: dict[str, str],
) -> Response:
    began = time.monotonic()
    try:
        completion = await call.complete()
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        recorder.done(None, "error", error.error_type)
        raise error from exc
    waited = time.monotonic() - began
    usage = completion.usage or await _local_usage(
        call.target, prompt_chars, completion.text
    )
    completion.usage = usage
    cost = recorder.done(usage, "ok", None)
    await recorder.save(completion.text, usage, "ok")
    body = completion_to_openai(completion, call.target.model, new_completion_id())
    return Response(
        orjson.dumps(body),
        media_type="application/json",
        headers={**headers, OVERHEAD_HEADER: _overhead(started, waited)},
        background=BackgroundTask(recorder.charge, usage, cost),
    )


async def _relay(
    recorder: _Recorder,
    events: AsyncGenerator[StreamEvent, None],
    first: StreamEvent | None,
    chunks: OpenAIChunkStream,
    prompt_chars: int,
) -> AsyncIterator[bytes]:
    builder = CompletionBuilder()
    status, error_type = "interrupted", None
    store = recorder.store
    if store is not None:
        store.follow(lambda: builder.text)
    try:
        pending = [first] if first is not None else []
        while True:
            for event in pending:
                builder.add(event)
                if store is not None:
                    store.keeper.touch()
                for chunk in chunks.feed(event):
                    yield sse_chunk(chunk)
            try:
                pending = [await anext(events)]
            except StopAsyncIteration:
                break
        usage = builder.usage or await _local_usage(
            recorder.call.target, prompt_chars, builder.text
        )
        for chunk in chunks.finish(usage):
            yield sse_chunk(chunk)
        yield DONE_FRAME
        status = "ok"
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        status, error_type = "error", error.error_type
        yield stream_error("openai", error)
    finally:
        await events.aclose()  # a client gone mid-stream stops the upstream too
        final = builder.usage
        if final is None and builder.text:
            final = await _local_usage(recorder.call.target, prompt_chars, builder.text)
        cost = recorder.done(final, status, error_type)
        await recorder.charge(final, cost)
        await recorder.save(builder.text, final, status)
