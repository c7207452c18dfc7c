"""POST /v1/messages and /v1/messages/count_tokens: Anthropic's Messages API
served by any provider.

- A model served by Anthropic: the client's bytes go upstream as they are (the
  model name rewritten only when the catalog maps it to another upstream id)
  and the reply's bytes come back untouched, streamed or not. A 429/401/403/402
  moves to the pool's next key; a 5xx or a connection failure is retried with
  backoff, only before anything reached the client.
- Any other model: the body is translated to a ChatRequest
  (translate_anthropic), run through the LlmClient (key pool, retries,
  fallbacks) and the answer translated back, as JSON or as Anthropic's events.
  A stream starts (200 and message_start) only once the first event arrived,
  so a call that fails before that answers with a real error status.

Every call is one request-log row (kind ``gateway``) written off the request
path (the batched RequestLogWriter), and charged to the gateway key's tpm
window and budget (limits.py), which are checked before the call. Every
response carries ``x-aihub-overhead-ms``: the time spent here minus the time
waiting on the upstream, up to the response headers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from starlette.responses import Response, StreamingResponse

from aihub.calls.client import KEY_POOL_ERRORS, LlmCall, LlmClient, Target
from aihub.calls.errors import as_hub_error
from aihub.calls.keyloop import open_with_keys
from aihub.calls.stream_errors import stream_error
from aihub.catalog import service as catalog_service
from aihub.core.errors import AihubError, ValidationFailedError
from aihub.core.json_limits import json_problem
from aihub.files import service as files_service
from aihub.gateway import limits
from aihub.gateway.caller import Caller
from aihub.gateway.routing import listed_by_servers, route_model
from aihub.gateway.translate_anthropic import (
    AnthropicStream,
    MessagesRequestInvalidError,
    completion_to_anthropic,
    new_message_id,
    request_from_anthropic,
)
from aihub.gateway.validation import check_anthropic_messages
from aihub.provider_keys.lease import Lease
from aihub.providers.base import (
    ChatRequest,
    CompletionBuilder,
    ProviderError,
    StreamEvent,
    UpstreamBadRequest,
    Usage,
)
from aihub.providers.forward import ForwardResponse
from aihub.providers.http import session_for
from aihub.providers.registry import get_forwarding_adapter
from aihub.runtime import Runtime
from aihub.usage.recording import CallRecord, cost_of

log = structlog.get_logger(__name__)

OVERHEAD_HEADER = "x-aihub-overhead-ms"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
FORWARDED_HEADERS = ("anthropic-beta",)
UPSTREAM_ID_HEADERS = ("request-id", "x-request-id")


@dataclass(slots=True)
class CallContext:
    """One /v1/messages call: who, which model, the clock and the key's limits."""

    runtime: Runtime
    caller: Caller
    target: Target
    started: float = field(default_factory=time.perf_counter)
    upstream_s: float = 0.0
    first_byte_at: float | None = None
    limit_headers: dict[str, str] = field(default_factory=dict)

    @property
    def llm(self) -> LlmClient:
        return self.runtime.llm

    @property
    def key_wait_s(self) -> float:
        return self.runtime.settings.key_wait_s

    def headers(self) -> dict[str, str]:
        """x-aihub-overhead-ms (time so far less the upstream's) and the key's
        x-ratelimit-* headers."""
        total = time.perf_counter() - self.started
        overhead_ms = max(0.0, total - self.upstream_s) * 1000
        return {**self.limit_headers, OVERHEAD_HEADER: f"{overhead_ms:.2f}"}

    def elapsed_ms(self, at: float | None = None) -> int:
        return int(((at or time.perf_counter()) - self.started) * 1000)

    async def record(
        self,
        *,
        usage: Usage | None,
        key_id: int | None,
        status: str = "ok",
        error: AihubError | None = None,
        target: Target | None = None,
    ) -> None:
        """One request-log row (queued), and the tokens and cost charged to the
        gateway key's tpm window and budget."""
        target = target or self.target
        ttft = self.first_byte_at
        self.runtime.request_log.add(
            CallRecord(
                user_id=self.caller.user_id,
                kind="gateway",
                provider=target.provider,
                model=target.model,
                usage=usage,
                provider_key_id=key_id,
                gateway_key_id=self.caller.gateway_key_id,
                latency_ms=self.elapsed_ms(),
                ttft_ms=self.elapsed_ms(ttft) if ttft is not None else None,
                status=status,
                error_type=error.error_type if error is not None else None,
            )
        )
        if usage is not None and self.caller.key is not None:
            tokens = usage.total_tokens or usage.prompt_tokens + usage.completion_tokens
            cost = cost_of(target.provider, target.model, usage)
            await limits.record_usage(self.runtime.gateway, self.caller, tokens, cost)


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise MessagesRequestInvalidError("The body must be a JSON object") from None
    if not isinstance(body, dict):
        raise MessagesRequestInvalidError("The body must be a JSON object")
    problem = json_problem(body)
    if problem is not None:
        raise ValidationFailedError(f"The request body {problem}")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise MessagesRequestInvalidError("model: a model name is required")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise MessagesRequestInvalidError("stream: must be a boolean")
    return body


async def _context(
    runtime: Runtime,
    caller: Caller,
    body: Mapping[str, Any],
    raw: bytes,
    started: float,
) -> CallContext:
    """Route the model, then check the key's model list, budget and limits
    (tokens estimated at a quarter of the body's bytes)."""
    model = str(body["model"]).strip()
    listed = listed_by_servers(runtime.discovery, runtime.sessionmaker, caller.user_id)
    target = await route_model(
        runtime.key_pool, user_id=caller.user_id, model=model, listed=listed
    )
    headers = await limits.check_request(runtime.gateway, caller, model, len(raw) // 4)
    return CallContext(runtime, caller, target, started=started, limit_headers=headers)


def _is_passthrough(target: Target) -> bool:
    adapter = get_forwarding_adapter(target.provider)
    return adapter is not None and adapter.wire == "anthropic"


async def create_message(
    runtime: Runtime, *, caller: Caller, raw: bytes, headers: Mapping[str, str]
) -> Response:
    started = time.perf_counter()
    body = parse_body(raw)
    check_anthropic_messages(body, require_max_tokens=True)
    ctx = await _context(runtime, caller, body, raw, started)
    stream = body.get("stream") is True
    targets = ctx.llm.targets(ctx.target)  # the model, then its fallbacks
    forwarded = {k: v for k in FORWARDED_HEADERS if (v := headers.get(k))}
    for index, candidate in enumerate(targets):
        if not _is_passthrough(candidate):  # translated, with what is left
            ctx.target = candidate
            await _check_image_links(runtime, body)
            request = request_from_anthropic(body, model=candidate.model)
            if stream:
                return await _translated_stream(ctx, request, targets[index:])
            return await _translated(ctx, request, targets[index:])
        if body.get("model") != candidate.api_model:
            body["model"] = candidate.api_model
            raw = orjson.dumps(body)
        last = index == len(targets) - 1
        try:
            return await _pass_through(
                ctx, raw, stream=stream, headers=forwarded, last=last
            )
        except _FallBack as exc:
            log.warning(
                "model_fallback",
                failed=str(candidate),
                fallback=str(targets[index + 1]),
                error=str(exc.__cause__),
            )
            ctx.target = targets[index + 1]
    raise AssertionError("unreachable: no target")


class _FallBack(Exception):
    """This target's keys or upstream cannot serve (nothing was sent): the next
    fallback may."""


async def _check_image_links(runtime: Runtime, body: Mapping[str, Any]) -> None:
    """Image URLs a translated call hands to another provider (a local vLLM
    behind a global key would fetch them) must pass the outbound policy;
    Anthropic itself fetches the ones a pass-through carries."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    contents = [m.get("content") for m in messages if isinstance(m, dict)]
    if any(isinstance(c, list) for c in contents):
        bases = files_service.link_bases(runtime.settings.public_url)
        await files_service.check_image_links(runtime.outbound, contents, bases)


# -- pass-through ---------------------------------------------------------------


async def _forward(
    ctx: CallContext,
    path: str,
    raw: bytes,
    *,
    stream: bool,
    headers: Mapping[str, str] | None = None,
) -> tuple[ForwardResponse, Lease]:
    """The upstream's 2xx reply and the key that got it (next key after a
    rejected one, backoff and retry after a 5xx)."""
    llm = ctx.llm
    adapter = get_forwarding_adapter(ctx.target.provider)
    assert adapter is not None  # noqa: S101 - _is_passthrough checked it

    async def forward(lease: Lease) -> ForwardResponse:
        sent = time.perf_counter()
        try:
            return await adapter.forward(
                session_for(llm.http, lease.credentials),
                lease.credentials,
                path,
                raw,
                stream=stream,
                timeouts=llm.timeouts,
                headers=headers,
            )
        finally:
            ctx.upstream_s += time.perf_counter() - sent

    def waited(seconds: float) -> None:
        ctx.upstream_s += seconds

    return await open_with_keys(
        llm.pool,
        ctx.target.provider,
        user_id=ctx.caller.user_id,
        fn=forward,
        policy=llm.policy,
        wait_s=ctx.key_wait_s,
        on_backoff=waited,
        target=str(ctx.target),
    )


def _reply_headers(ctx: CallContext, reply: ForwardResponse) -> dict[str, str]:
    headers = {k: v for k in UPSTREAM_ID_HEADERS if (v := reply.headers.get(k))}
    headers.update(ctx.headers())
    return headers


async def _pass_through(
    ctx: CallContext,
    raw: bytes,
    *,
    stream: bool,
    headers: Mapping[str, str],
    last: bool = True,
) -> Response:
    try:
        reply, lease = await _forward(
            ctx, "messages", raw, stream=stream, headers=headers
        )
    except (ProviderError, AihubError) as exc:
        if not last and _may_fall_back(exc):
            raise _FallBack() from exc
        error = as_hub_error(exc)
        await ctx.record(usage=None, key_id=None, status="error", error=error)
        raise error from exc
    if not stream:
        lease.success()
        ctx.first_byte_at = time.perf_counter()
        response = Response(
            reply.body,
            media_type="application/json",
            headers=_reply_headers(ctx, reply),
        )
        await ctx.record(usage=reply.usage(), key_id=lease.key_id)
        return response
    return StreamingResponse(
        _relay(ctx, reply, lease),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **_reply_headers(ctx, reply)},
    )


async def _relay(
    ctx: CallContext, reply: ForwardResponse, lease: Lease
) -> AsyncIterator[bytes]:
    """The upstream's bytes as they come; a failure mid-stream ends it with an
    Anthropic error event."""
    status, error = "interrupted", None
    try:
        async for chunk in reply:
            if ctx.first_byte_at is None:
                ctx.first_byte_at = time.perf_counter()
            yield chunk
        status = "ok"
        lease.success()
    except ProviderError as exc:
        await lease.report(exc)
        status, error = "error", as_hub_error(exc)
        yield stream_error("anthropic", error)
    finally:
        reply.close()
        await ctx.record(
            usage=reply.usage(), key_id=lease.key_id, status=status, error=error
        )


def _may_fall_back(exc: Exception) -> bool:
    """As LlmCall's rule: the model's keys or its upstream failed, not the
    request itself."""
    if isinstance(exc, UpstreamBadRequest):
        return False
    return isinstance(exc, (ProviderError, *KEY_POOL_ERRORS))


# -- translated -----------------------------------------------------------------


async def _estimated_usage(target: Target, request: ChatRequest, text: str) -> Usage:
    """Usage counted here when the provider reported none."""
    prompt, _ = await catalog_service.acount_messages(
        target.provider, target.model, request.messages, request.system
    )
    completion, _ = await catalog_service.acount_tokens(
        target.provider, target.model, text
    )
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        reported=False,
    )


async def _failed(ctx: CallContext, call: LlmCall, exc: Exception) -> AihubError:
    error = as_hub_error(exc)
    await ctx.record(
        usage=None, key_id=call.key_id, status="error", error=error, target=call.target
    )
    return error


async def _translated(
    ctx: CallContext, request: ChatRequest, targets: Sequence[Target]
) -> Response:
    call = ctx.llm.call(
        user_id=ctx.caller.user_id,
        targets=targets,
        request=request,
        wait_s=ctx.key_wait_s,
    )
    sent = time.perf_counter()
    try:
        completion = await call.complete()
    except (ProviderError, AihubError) as exc:
        raise await _failed(ctx, call, exc) from exc
    finally:
        ctx.upstream_s += time.perf_counter() - sent
    ctx.first_byte_at = time.perf_counter()
    if completion.usage is None:
        completion.usage = await _estimated_usage(call.target, request, completion.text)
    message = completion_to_anthropic(
        completion,
        model=completion.model or call.target.model,
        message_id=new_message_id(),
    )
    response = Response(
        orjson.dumps(message), media_type="application/json", headers=ctx.headers()
    )
    await ctx.record(usage=completion.usage, key_id=call.key_id, target=call.target)
    return response


async def _translated_stream(
    ctx: CallContext, request: ChatRequest, targets: Sequence[Target]
) -> Response:
    call = ctx.llm.call(
        user_id=ctx.caller.user_id,
        targets=targets,
        request=request,
        wait_s=ctx.key_wait_s,
    )
    events = call.events()
    sent = time.perf_counter()
    try:
        first: StreamEvent | None = await anext(events)
    except StopAsyncIteration:
        first = None
    except (ProviderError, AihubError) as exc:
        await _close(events)
        raise await _failed(ctx, call, exc) from exc
    finally:
        ctx.upstream_s += time.perf_counter() - sent
    ctx.first_byte_at = time.perf_counter()
    return StreamingResponse(
        _events(ctx, call, request, events, first),
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **ctx.headers()},
    )


async def _events(
    ctx: CallContext,
    call: LlmCall,
    request: ChatRequest,
    events: AsyncIterator[StreamEvent],
    first: StreamEvent | None,
) -> AsyncIterator[bytes]:
    builder = CompletionBuilder()
    frames = AnthropicStream(message_id=new_message_id(), model=call.target.model)
    status, error = "interrupted", None
    try:
        yield frames.start()
        event = first
        while event is not None:
            builder.add(event)
            out = frames.feed(event)
            if out:
                yield out
            event = await anext(events, None)
        usage = builder.usage
        if usage is None:
            usage = await _estimated_usage(call.target, request, builder.text)
            builder.usage = usage
        yield frames.finish(usage)
        status = "ok"
    except (ProviderError, AihubError) as exc:
        status, error = "error", as_hub_error(exc)
        yield stream_error("anthropic", error)
    finally:
        await _close(events)
        await ctx.record(
            usage=builder.usage,
            key_id=call.key_id,
            status=status,
            error=error,
            target=call.target,
        )


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    """Close the call's event generator (and so its upstream connection)."""
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


# -- count_tokens -----------------------------------------------------------------


async def count_tokens(
    runtime: Runtime, *, caller: Caller, raw: bytes, headers: Mapping[str, str]
) -> Response:
    """Anthropic counts its own models' tokens (forwarded); other models, or an
    Anthropic-compatible upstream without the endpoint (404), are counted here
    with the catalog's tokenizer."""
    started = time.perf_counter()
    body = parse_body(raw)
    check_anthropic_messages(body, require_max_tokens=False)
    ctx = await _context(runtime, caller, body, raw, started)
    if _is_passthrough(ctx.target):
        if body.get("model") != ctx.target.api_model:
            body["model"] = ctx.target.api_model
            raw = orjson.dumps(body)
        forwarded = {k: v for k in FORWARDED_HEADERS if (v := headers.get(k))}
        try:
            reply, lease = await _forward(
                ctx, "messages/count_tokens", raw, stream=False, headers=forwarded
            )
        except UpstreamBadRequest as exc:
            if exc.status != 404:
                raise as_hub_error(exc) from exc
            log.info("count_tokens_counted_locally", provider=ctx.target.provider)
        except (ProviderError, AihubError) as exc:
            raise as_hub_error(exc) from exc
        else:
            lease.success()
            return Response(
                reply.body,
                media_type="application/json",
                headers=_reply_headers(ctx, reply),
            )
    tokens = await _count_locally(ctx.target, body)
    return Response(
        orjson.dumps({"input_tokens": tokens}),
        media_type="application/json",
        headers=ctx.headers(),
    )


async def _count_locally(target: Target, body: Mapping[str, Any]) -> int:
    request = request_from_anthropic({**body, "max_tokens": 1}, model=target.model)
    prompt, _ = await catalog_service.acount_messages(
        target.provider, target.model, request.messages, request.system
    )
    if request.tools:
        counted, _ = await catalog_service.acount_tokens(
            target.provider, target.model, orjson.dumps(request.tools).decode()
        )
        prompt += counted
    return prompt
