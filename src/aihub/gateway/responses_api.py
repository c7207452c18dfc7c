"""OpenAI's Responses API under /v1 for every provider aihub serves.

POST /v1/responses translates the call to a normalized ChatRequest and runs it
through the LlmClient (key pool, retries, fallbacks), as /v1/messages'
translated mode does; the answer comes back as a ``response`` object or as
the documented ``response.*`` events. A stream starts (200 and
``response.created``) only once the first upstream event arrived, so a call
that fails before that answers with a real error status.

``store`` (default true) keeps the response as an exchange of a hub thread
(responses_store); ``previous_response_id`` continues that thread with every
earlier turn. A stored non-streamed response is written behind the request
(responses_writer): it goes out at once, and reads of its id wait for its
write. ``x-aihub-thread`` names the thread of a stored response when it is
known as the answer goes out: a stream's (its thread is written before the
upstream call) and a continuation's (``previous_response_id``); a non-streamed
response that opens a thread has it written after, so it has no header (its
thread is in /api/threads once written). GET / DELETE /v1/responses/{id},
POST .../cancel and GET .../input_items read the stored ones, the caller's own
only (another user's id is a 404). Every call is one request-log row (kind
``gateway``) and is charged to the gateway key's limits, like the other /v1
doors.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from aihub.calls.client import LlmCall
from aihub.calls.errors import as_hub_error
from aihub.catalog.tokens import acount_tokens
from aihub.core.errors import AihubError, BadRequestError, ValidationFailedError
from aihub.core.json_limits import json_problem
from aihub.files import service as files_service
from aihub.gateway import responses_store
from aihub.gateway.caller import Caller
from aihub.gateway.deps import GatewayCaller
from aihub.gateway.limits import check_request, record_usage
from aihub.gateway.responses_store import Found, StoredResponse, new_response_id
from aihub.gateway.responses_wire import (
    ResponseHead,
    ResponsesRequest,
    ResponsesStream,
    chat_body,
    output_items,
    output_text,
    parse_request,
    response_object,
    status_of,
)
from aihub.gateway.routing import listed_by_servers, route_model
from aihub.providers.base import (
    ChatRequest,
    CompletionBuilder,
    ProviderError,
    StreamEvent,
    Usage,
)
from aihub.providers.openai_wire import chat_request_from_openai
from aihub.runtime import Runtime, runtime_of
from aihub.usage.recording import CallRecord, cost_of

router = APIRouter(tags=["gateway (OpenAI-compatible)"])

OVERHEAD_HEADER = "x-aihub-overhead-ms"
THREAD_HEADER = "x-aihub-thread"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
_ERRORS: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid request (OpenAI's error shape)"},
    401: {"description": "Missing or invalid key"},
    404: {"description": "Unknown model or response"},
}


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequestError("The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequestError("The request body must be a JSON object")
    problem = json_problem(data)
    if problem is not None:
        raise ValidationFailedError(f"The request body {problem}")
    return data


class _Call:
    """One /v1/responses call: who, what, the clock, and what it records."""

    def __init__(
        self,
        runtime: Runtime,
        caller: Caller,
        req: ResponsesRequest,
        call: LlmCall,
        prompt_chars: int,
    ) -> None:
        self.runtime = runtime
        self.caller = caller
        self.req = req
        self.call = call
        self.prompt_chars = prompt_chars
        self.started = time.perf_counter()
        self.stored: StoredResponse | None = None  # a stored stream
        self.previous: Found | None = None
        self.thread_id: int | None = None
        self.head = ResponseHead(id=new_response_id(), model=call.target.model)

    def continues(self, previous: Found | None) -> None:
        self.previous = previous
        if previous is not None and self.req.store:
            self.thread_id = previous.thread.id

    def attach(self, stored: StoredResponse) -> None:
        self.stored = stored
        self.thread_id = stored.thread_id

    def headers(self, upstream_s: float) -> dict[str, str]:
        overhead = max(0.0, time.perf_counter() - self.started - upstream_s) * 1000
        out = {OVERHEAD_HEADER: f"{overhead:.2f}"}
        if self.thread_id is not None:
            out[THREAD_HEADER] = str(self.thread_id)
        return out

    async def usage(self, reported: Usage | None, text: str) -> Usage:
        """The provider's usage, else the answer counted here and the prompt
        estimated from its size."""
        if reported is not None:
            return reported
        target = self.call.target
        completion, _ = await acount_tokens(target.provider, target.model, text)
        prompt = self.prompt_chars // 4
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            reported=False,
        )

    def record(
        self, usage: Usage | None, status: str, error: AihubError | None = None
    ) -> float:
        target = self.call.target
        self.runtime.request_log.add(
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
                error_type=error.error_type if error is not None else None,
            )
        )
        return cost_of(target.provider, target.model, usage)

    async def charge(self, usage: Usage | None, cost: float) -> None:
        if self.caller.key is not None and usage is not None:
            await record_usage(
                self.runtime.gateway, self.caller, usage.total_tokens, cost
            )

    async def save(
        self,
        response: dict[str, Any],
        usage: Usage | None,
        cost: float | None = None,
    ) -> None:
        """A stored stream's end; a stored non-streamed response whole,
        queued to be written behind the request."""
        if self.stored is not None:
            text = output_text(response.get("output") or [])
            await self.stored.finish(response, text=text, usage=usage)
        elif self.req.store and not self.req.stream:
            responses_store.queue_complete(
                self.runtime.responses,
                user_id=self.caller.user_id,
                target=self.call.target,
                items=self.req.items,
                instructions=self.req.instructions,
                previous=self.previous,
                response=response,
                usage=usage,
                cost=cost,
            )

    async def failed(self, exc: BaseException) -> AihubError:
        """An error before any answer: recorded, stored as a failed response."""
        error = as_hub_error(exc)
        self.record(None, "error", error)
        failure = {"code": "server_error", "message": error.message}
        response = response_object(
            self.req, self.head, status="failed", output=[], error=failure
        )
        await self.save(response, None)
        return error


@router.post(
    "/responses",
    summary="OpenAI Responses API (any provider)",
    openapi_extra=_BODY_DOC,
    responses=_ERRORS,
)
async def create_response(request: Request, caller: GatewayCaller) -> Response:
    runtime = runtime_of(request)
    raw = await request.body()
    req = parse_request(parse_body(raw))
    limit_headers = await check_request(
        runtime.gateway, caller, req.model, len(raw) // 4
    )
    target = await route_model(
        runtime.key_pool,
        user_id=caller.user_id,
        model=req.model,
        listed=listed_by_servers(
            runtime.discovery, runtime.sessionmaker, caller.user_id
        ),
    )
    previous: Found | None = None
    history: list[dict[str, Any]] = []
    if req.previous_response_id is not None:
        previous, history = await responses_store.history(
            runtime.responses,
            user_id=caller.user_id,
            response_id=req.previous_response_id,
        )
    chat = chat_body(req, history, provider=target.provider)
    await _check_image_links(request, chat["messages"])
    try:
        chat_request = chat_request_from_openai(chat)
    except (ValueError, TypeError) as exc:
        raise BadRequestError(str(exc)) from exc
    call = runtime.llm.stream(
        user_id=caller.user_id,
        target=target,
        request=chat_request,
        wait_s=runtime.settings.key_wait_s,
    )
    ctx = _Call(runtime, caller, req, call, len(raw))
    ctx.continues(previous)
    builder = CompletionBuilder()
    if req.store and req.stream:
        ctx.attach(
            await responses_store.begin(
                runtime.runs,
                runtime.responses,
                user_id=caller.user_id,
                target=target,
                items=req.items,
                instructions=req.instructions,
                previous=previous,
                source=lambda: builder.text,
                snapshot=response_object(
                    req, ctx.head, status="in_progress", output=[]
                ),
            )
        )
    try:
        if req.stream:
            response = await _stream(ctx, call, builder)
        else:
            response = await _complete(ctx, call, chat_request)
    except BaseException as exc:
        if ctx.stored is not None and not isinstance(exc, AihubError):
            await ctx.save(
                response_object(req, ctx.head, status="failed", output=[]), None
            )
        raise
    response.headers.update(limit_headers)
    return response


async def _check_image_links(request: Request, messages: list[dict[str, Any]]) -> None:
    """Image links handed to a provider must pass the outbound policy."""
    contents = [m.get("content") for m in messages]
    if not any(isinstance(c, list) for c in contents):
        return
    runtime = runtime_of(request)
    bases = files_service.link_bases(runtime.settings.public_url, str(request.base_url))
    await files_service.check_image_links(runtime.outbound, contents, bases)


async def _complete(ctx: _Call, call: LlmCall, chat_request: ChatRequest) -> Response:
    began = time.perf_counter()
    try:
        completion = await call.complete()
    except (ProviderError, AihubError) as exc:
        raise await ctx.failed(exc) from exc
    waited = time.perf_counter() - began
    ctx.head.model = call.target.model
    usage = await ctx.usage(completion.usage, completion.text)
    status, incomplete = status_of(completion.finish_reason)
    response = response_object(
        ctx.req,
        ctx.head,
        status=status,
        output=output_items(completion),
        usage=usage,
        incomplete=incomplete,
    )
    cost = ctx.record(usage, "ok")
    await ctx.save(response, usage, cost)  # queued: written behind the request
    return Response(
        orjson.dumps(response),
        media_type="application/json",
        headers=ctx.headers(waited),
        background=BackgroundTask(ctx.charge, usage, cost),
    )


async def _stream(ctx: _Call, call: LlmCall, builder: CompletionBuilder) -> Response:
    events = call.events()
    began = time.perf_counter()
    try:  # the first event before the 200: an early failure gets its status
        first: StreamEvent | None = await anext(events)
    except StopAsyncIteration:
        first = None
    except (ProviderError, AihubError) as exc:
        await events.aclose()
        raise await ctx.failed(exc) from exc
    waited = time.perf_counter() - began
    ctx.head.model = call.target.model
    frames = ResponsesStream(ctx.req, ctx.head)
    return StreamingResponse(
        _relay(ctx, events, first, frames, builder),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **ctx.headers(waited)},
    )


async def _relay(
    ctx: _Call,
    events: AsyncGenerator[StreamEvent, None],
    first: StreamEvent | None,
    frames: ResponsesStream,
    builder: CompletionBuilder,
) -> AsyncIterator[bytes]:
    """The events as they come; recorded and stored however the stream ends
    (done, upstream failure, client gone)."""
    status, error = "interrupted", None
    usage: Usage | None = None
    final: dict[str, Any] | None = None
    try:
        yield frames.start()
        event = first
        while event is not None:
            builder.add(event)
            if ctx.stored is not None:
                ctx.stored.keeper.touch()
            out = frames.feed(event)
            if out:
                yield out
            event = await anext(events, None)
        usage = await ctx.usage(builder.usage, builder.text)
        out, final = frames.finish(usage)
        yield out
        status = "ok"
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        status, usage = "error", builder.usage
        out, final = frames.fail("server_error", error.message)
        yield out
    finally:
        await events.aclose()  # a client gone mid-stream stops the upstream too
        if final is None:  # the client went away: what came so far
            frames.close_items()
            final = response_object(
                ctx.req,
                ctx.head,
                status="incomplete",
                output=frames.output,
                usage=builder.usage,
                incomplete={"reason": "interrupted"},
            )
            usage = builder.usage
        cost = ctx.record(usage, status, error)
        await ctx.charge(usage, cost)
        await ctx.save(final, usage)


# -- stored responses ---------------------------------------------------------------


def _json(data: dict[str, Any]) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


@router.get(
    "/responses/{response_id}", summary="Retrieve a stored response", responses=_ERRORS
)
async def get_response(
    request: Request, caller: GatewayCaller, response_id: str
) -> Response:
    found = await responses_store.find(
        runtime_of(request).responses,
        user_id=caller.user_id,
        response_id=response_id,
    )
    return _json(found.response)


@router.delete(
    "/responses/{response_id}", summary="Delete a stored response", responses=_ERRORS
)
async def delete_response(
    request: Request, caller: GatewayCaller, response_id: str
) -> Response:
    await responses_store.delete(
        runtime_of(request).responses,
        user_id=caller.user_id,
        response_id=response_id,
    )
    return _json({"id": response_id, "object": "response.deleted", "deleted": True})


@router.post(
    "/responses/{response_id}/cancel",
    summary="Cancel a background response",
    responses=_ERRORS,
)
async def cancel_response(
    request: Request, caller: GatewayCaller, response_id: str
) -> Response:
    """aihub runs no background responses (``background: true`` is refused), so
    there is never one to cancel: OpenAI's answer for a foreground response."""
    await responses_store.find(
        runtime_of(request).responses,
        user_id=caller.user_id,
        response_id=response_id,
    )
    raise BadRequestError(
        "Only responses created with background=true can be cancelled"
    )


@router.get(
    "/responses/{response_id}/input_items",
    summary="The input items of a stored response",
    responses=_ERRORS,
)
async def list_input_items(
    request: Request,
    caller: GatewayCaller,
    response_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    after: str | None = None,
    before: str | None = None,
) -> Response:
    found = await responses_store.find(
        runtime_of(request).responses,
        user_id=caller.user_id,
        response_id=response_id,
    )
    items = found.input_items
    if order == "desc":
        items.reverse()
    ids = [str(item.get("id")) for item in items]
    if after is not None and after in ids:
        items = items[ids.index(after) + 1 :]
    if before is not None:
        ids = [str(item.get("id")) for item in items]
        if before in ids:
            items = items[: ids.index(before)]
    page = items[:limit]
    return _json(
        {
            "object": "list",
            "data": page,
            "first_id": page[0].get("id") if page else None,
            "last_id": page[-1].get("id") if page else None,
            "has_more": len(items) > len(page),
        }
    )
