"""The OpenAI-compatible gateway: POST /v1/chat/completions, POST /v1/embeddings,
GET /v1/models (a gateway key or a JWT).

The hot path does no avoidable work: the body is parsed once with orjson (and
re-encoded only when something must change: the upstream model name, or asking
for the usage block of a stream); the caller, its limits and the provider keys
come from memory; an OpenAI-wire provider's reply bytes are passed through
untouched; the request log row is queued for a batched write. Every response
carries ``x-aihub-overhead-ms``: the time aihub itself added (total minus the
time spent waiting on the upstream).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from aihub.calls.client import Target
from aihub.calls.errors import as_hub_error
from aihub.calls.stream_errors import stream_error
from aihub.catalog.served import served_models
from aihub.core.errors import AihubError, BadRequestError, ValidationFailedError
from aihub.core.json_limits import json_problem
from aihub.files import service as files_service
from aihub.gateway.caller import Caller
from aihub.gateway.deps import GatewayCaller
from aihub.gateway.limits import check_request, model_allowed, record_usage
from aihub.gateway.openai_translated import translated_chat_completion
from aihub.gateway.persist import (
    THREAD_HEADER,
    StoreRequest,
    answer_of_body,
    store_request,
)
from aihub.gateway.relay import UsageChunkFilter, open_forward_call
from aihub.gateway.responses_api import router as responses_router
from aihub.gateway.routing import listed_by_servers, route_model
from aihub.gateway.validation import check_chat_completions, check_embeddings
from aihub.providers.base import ProviderError, Usage
from aihub.providers.forward import ForwardResponse
from aihub.providers.registry import get_forwarding_adapter
from aihub.runtime import Runtime, runtime_of
from aihub.usage.recording import CallRecord, cost_of

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["gateway (OpenAI-compatible)"])
router.include_router(responses_router)  # /v1/responses (responses_api.py)

OVERHEAD_HEADER = "x-aihub-overhead-ms"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _overhead(started: float, wait_s: float) -> str:
    return f"{max(0.0, time.perf_counter() - started - wait_s) * 1000:.2f}"


async def _check_image_links(request: Request, data: dict[str, Any]) -> None:
    """External image links must pass the outbound policy (403 otherwise)."""
    messages = data.get("messages")
    if not isinstance(messages, list):
        return
    contents = [m.get("content") for m in messages if isinstance(m, dict)]
    if not any(isinstance(c, list) for c in contents):
        return
    runtime = runtime_of(request)
    bases = files_service.link_bases(runtime.settings.public_url, str(request.base_url))
    await files_service.check_image_links(runtime.outbound, contents, bases)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
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


def _model_of(data: dict[str, Any]) -> str:
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequestError("`model` is required")
    return model.strip()


def _estimate_tokens(request: Request) -> int:
    """A cheap upper-bound guess for the tpm check: 4 bytes a token."""
    length = request.headers.get("content-length")
    return int(length) // 4 if length and length.isdigit() else 0


class Accounting:
    """What one gateway call records when it ends (whatever way it ends): a
    request-log row (batched) and the key's tokens and spend."""

    __slots__ = ("caller", "gateway", "kind", "started", "target", "writer")

    def __init__(
        self, runtime: Runtime, caller: Caller, target: Target, kind: str
    ) -> None:
        self.gateway = runtime.gateway
        self.writer = runtime.request_log
        self.caller = caller
        self.target = target
        self.kind = kind
        self.started = time.perf_counter()

    def done(
        self,
        *,
        usage: Usage | None,
        key_id: int | None,
        status: str = "ok",
        error_type: str | None = None,
        ttft_ms: int | None = None,
    ) -> float:
        target = self.target
        cost = cost_of(target.provider, target.model, usage)
        record = CallRecord(
            user_id=self.caller.user_id,
            kind=self.kind,
            provider=target.provider,
            model=target.model,
            usage=usage,
            provider_key_id=key_id,
            gateway_key_id=self.caller.gateway_key_id,
            latency_ms=int((time.perf_counter() - self.started) * 1000),
            ttft_ms=ttft_ms,
            status=status,
            error_type=error_type,
            cost=cost,
        )
        self.writer.add(record)
        return cost

    async def charge(self, usage: Usage | None, cost: float) -> None:
        if self.caller.key is None:
            return
        tokens = usage.total_tokens if usage is not None else 0
        await record_usage(self.gateway, self.caller, tokens, cost)


async def _route(runtime: Runtime, caller: Caller, model: str) -> Target:
    """The provider serving ``model`` for this caller (see routing.py)."""
    return await route_model(
        runtime.key_pool,
        user_id=caller.user_id,
        model=model,
        listed=listed_by_servers(
            runtime.discovery, runtime.sessionmaker, caller.user_id
        ),
    )


def _prepare_openai_body(
    data: dict[str, Any], raw_model: str, target: Target, *, stream: bool
) -> tuple[bytes, bool]:
    """The body to forward, and whether the usage chunk must be hidden from a
    client that did not ask for it (we ask, to account the call)."""
    changed = False
    api_model = target.api_model
    if api_model != raw_model:
        data["model"] = api_model
        changed = True
    strip_usage = False
    if stream:
        options = data.get("stream_options")
        if not (isinstance(options, dict) and options.get("include_usage")):
            merged = dict(options) if isinstance(options, dict) else {}
            merged["include_usage"] = True
            data["stream_options"] = merged
            strip_usage = changed = True
    return orjson.dumps(data) if changed else b"", strip_usage


@router.post(
    "/chat/completions",
    summary="OpenAI Chat Completions (any provider)",
    openapi_extra=_BODY_DOC,
)
async def chat_completions(request: Request, caller: GatewayCaller) -> Response:
    started = time.perf_counter()
    runtime = runtime_of(request)
    data = await _json_body(request)
    raw_model = _model_of(data)
    check_chat_completions(data)  # 400 before any upstream call
    await _check_image_links(request, data)
    limit_headers = await check_request(
        runtime.gateway, caller, raw_model, _estimate_tokens(request)
    )
    target = await _route(runtime, caller, raw_model)
    store = await store_request(request, caller, data, target)
    if store is None:
        return await _chat(request, caller, data, target, started, limit_headers)
    limit_headers = {**limit_headers, THREAD_HEADER: str(store.thread_id)}
    try:
        return await _chat(request, caller, data, target, started, limit_headers, store)
    except BaseException as exc:  # no answer is coming: say so in the thread
        error = exc if isinstance(exc, AihubError) else None
        status = "error" if error is not None else "interrupted"
        await store.finish(status=status, usage=None, error=error)
        raise


async def _chat(
    request: Request,
    caller: Caller,
    data: dict[str, Any],
    target: Target,
    started: float,
    limit_headers: dict[str, str],
    store: StoreRequest | None = None,
) -> Response:
    runtime = runtime_of(request)
    raw_model = _model_of(data)
    stream = bool(data.get("stream"))
    had_store = data.pop("store", None) is not None
    adapter = get_forwarding_adapter(target.provider)
    if adapter is None or adapter.wire != "openai":
        return await _translated_chat(
            request, caller, target, data, stream, started, limit_headers, store
        )
    body, strip_usage = _prepare_openai_body(data, raw_model, target, stream=stream)
    if not body:
        body = orjson.dumps(data) if had_store else await request.body()
    accounting = Accounting(runtime, caller, target, "gateway")
    try:
        reply, lease = await open_forward_call(
            runtime.llm,
            target,
            user_id=caller.user_id,
            path="chat/completions",
            body=body,
            stream=stream,
            wait_s=runtime.settings.key_wait_s,
        )
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        accounting.done(
            usage=None, key_id=None, status="error", error_type=error.error_type
        )
        raise error from exc
    if not stream:
        lease.success()
        usage = reply.usage()
        cost = accounting.done(usage=usage, key_id=lease.key_id)
        if store is not None:
            answer = answer_of_body(reply.body or b"")
            await store.finish(status="complete", usage=usage, text=answer)
        headers = {**limit_headers, OVERHEAD_HEADER: _overhead(started, reply.wait_s)}
        return Response(
            reply.body or b"",
            media_type="application/json",
            headers=headers,
            background=_charge_later(accounting, usage, cost),
        )
    headers = {
        **SSE_HEADERS,
        **limit_headers,
        OVERHEAD_HEADER: _overhead(started, reply.wait_s),
    }
    relay = _relay(reply, lease, accounting, strip_usage, store)
    return StreamingResponse(relay, media_type="text/event-stream", headers=headers)


async def _relay(
    reply: ForwardResponse,
    lease: Any,
    accounting: Accounting,
    strip_usage: bool,
    store: StoreRequest | None,
) -> AsyncIterator[bytes]:
    """The upstream's bytes to the client; the call is accounted at the end,
    however it ends (done, upstream failure, client gone)."""
    status, error_type = "interrupted", None
    usage_filter = UsageChunkFilter() if strip_usage else None
    ttft_ms: int | None = None
    try:
        async for chunk in reply:
            if ttft_ms is None:
                ttft_ms = int((time.perf_counter() - accounting.started) * 1000)
            if store is not None:
                store.feed(chunk)
            if usage_filter is not None:
                chunk = usage_filter.feed(chunk)
                if not chunk:
                    continue
            yield chunk
        if usage_filter is not None:
            rest = usage_filter.flush()
            if rest:
                yield rest
        status = "ok"
        lease.success()
    except ProviderError as exc:
        error = as_hub_error(exc)
        status, error_type = "error", error.error_type
        await lease.report(exc)
        yield stream_error("openai", error)
    finally:
        reply.close()
        usage = reply.usage()
        cost = accounting.done(
            usage=usage,
            key_id=lease.key_id,
            status=status,
            error_type=error_type,
            ttft_ms=ttft_ms,
        )
        await accounting.charge(usage, cost)
        if store is not None:
            await store.finish(
                status="complete" if status == "ok" else status, usage=usage
            )


def _charge_later(
    accounting: Accounting, usage: Usage | None, cost: float
) -> BackgroundTask | None:
    """The key's tokens and spend, after the response is sent."""
    if accounting.caller.key is None:
        return None
    return BackgroundTask(accounting.charge, usage, cost)


async def _translated_chat(
    request: Request,
    caller: Caller,
    target: Target,
    data: dict[str, Any],
    stream: bool,
    started: float,
    limit_headers: dict[str, str],
    store: StoreRequest | None,
) -> Response:
    return await translated_chat_completion(
        request,
        caller,
        target,
        data,
        stream=stream,
        started=started,
        headers=limit_headers,
        store=store,
    )


@router.post(
    "/embeddings",
    summary="OpenAI Embeddings (OpenAI-wire providers)",
    openapi_extra=_BODY_DOC,
)
async def embeddings(request: Request, caller: GatewayCaller) -> Response:
    started = time.perf_counter()
    runtime = runtime_of(request)
    data = await _json_body(request)
    raw_model = _model_of(data)
    check_embeddings(data)
    limit_headers = await check_request(
        runtime.gateway, caller, raw_model, _estimate_tokens(request)
    )
    target = await _route(runtime, caller, raw_model)
    adapter = get_forwarding_adapter(target.provider)
    if adapter is None or adapter.wire != "openai":
        raise BadRequestError(f"{target.provider} does not serve embeddings here")
    body, _ = _prepare_openai_body(data, raw_model, target, stream=False)
    accounting = Accounting(runtime, caller, target, "embedding")
    try:
        reply, lease = await open_forward_call(
            runtime.llm,
            target,
            user_id=caller.user_id,
            path="embeddings",
            body=body or await request.body(),
            stream=False,
            wait_s=runtime.settings.key_wait_s,
        )
    except (ProviderError, AihubError) as exc:
        error = as_hub_error(exc)
        accounting.done(
            usage=None, key_id=None, status="error", error_type=error.error_type
        )
        raise error from exc
    lease.success()
    usage = reply.usage()
    cost = accounting.done(usage=usage, key_id=lease.key_id)
    headers = {**limit_headers, OVERHEAD_HEADER: _overhead(started, reply.wait_s)}
    return Response(
        reply.body or b"",
        media_type="application/json",
        headers=headers,
        background=_charge_later(accounting, usage, cost),
    )


@router.get("/models", summary="Models the caller can be served through the gateway")
async def list_models(request: Request, caller: GatewayCaller) -> Response:
    """What this caller (and this gateway key) can call: see catalog/served.py.
    An Anthropic client (``anthropic-version`` header) gets Anthropic's shape."""
    runtime = runtime_of(request)
    async with runtime.sessionmaker() as session:
        served = await served_models(
            session,
            pool=runtime.key_pool,
            discovery=runtime.discovery,
            fallbacks=runtime.settings.model_fallbacks,
            user_id=caller.user_id,
        )
    policy = caller.key
    rows = [m for m in served if policy is None or model_allowed(policy, m.id)]
    if request.headers.get("anthropic-version"):
        data = [
            {
                "type": "model",
                "id": m.id,
                "display_name": m.info.name if m.info is not None else m.id,
                "created_at": "1970-01-01T00:00:00Z",
            }
            for m in rows
        ]
        body: dict[str, Any] = {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    else:
        body = {
            "object": "list",
            "data": [
                {"id": m.id, "object": "model", "created": 0, "owned_by": m.provider}
                for m in rows
            ],
        }
    return Response(orjson.dumps(body), media_type="application/json")
