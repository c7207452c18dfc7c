"""A fake model provider: a real HTTP server on 127.0.0.1 (port 0) in its own
thread and event loop, speaking four wire formats.

=====================================================  ==========================
path                                                   wire (key header)
=====================================================  ==========================
/v1/chat/completions, /v1/models, /v1/embeddings       OpenAI and any OpenAI-
                                                       compatible server (Bearer)
/openai/deployments/{d}/chat/completions?api-version=  Azure OpenAI (api-key);
/openai/deployments/{d}/embeddings?api-version=        also /openai/models and
                                                       the v1 API /openai/v1/...
/v1/messages (and /v1/models with x-api-key)           Anthropic (x-api-key)
/compatible-mode/v1/chat/completions, .../models, ...  DashScope (Bearer)
=====================================================  ==========================

Replies are scripted per API key: a queue of ``Reply`` consumed one per request
(any path), then that key's default, then the echo reply (``"echo: <last user
text>"``). Every request is recorded. Keys are never checked, so none is real.

    fake_upstream.script("sk-a", [Reply(status=429, retry_after=2), Reply(text="hi")])
    creds = Credentials(api_key="sk-a", base_url=fake_upstream.base_url("openai"))
    ...
    assert fake_upstream.requests[-1].json["stream_options"] == {"include_usage": True}

Streams follow the providers: OpenAI chunks with ``usage: null`` and a final
usage chunk when ``stream_options.include_usage`` is asked, then ``[DONE]``;
Anthropic's message_start / content_block_* / ping / message_delta /
message_stop events. Requests are checked as strictly as the real services do
where it catches adapter bugs (Anthropic: anthropic-version header, max_tokens,
no system role in messages; Azure: api-version).

Failure knobs on ``Reply`` (replies.py): ``status`` (with OpenAI/Anthropic
error bodies; ``error_code`` "insufficient_quota" or "context_length_exceeded"
picks the matching text), ``retry_after``, ``delay`` (before the headers),
``chunk_delay``, ``stall_after_chunks``/``stall_s`` (one long silence),
``gate`` (a threading.Event the stream waits for after ``gate_after_chunks``),
``drop_after_chunks`` (the connection is cut), ``stream_error`` (an SSE error
event instead of the end). ``RecordedRequest.outcome`` says how each ended.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import orjson
from aiohttp import web

from tests.fakes.chat import anthropic_chat, openai_chat
from tests.fakes.replies import Frames, RecordedRequest, Reply
from tests.fakes.wire import (
    FakeUsage,
    ToolCallSpec,
    anthropic_error,
    openai_error,
    words,
)

__all__ = ["FakeUpstream", "FakeUsage", "RecordedRequest", "Reply", "ToolCallSpec"]

DEFAULT_MODELS = [
    "gpt-4o-mini",
    "gpt-4o",
    "claude-sonnet-4-5",
    "qwen-plus",
    "text-embedding-3-small",
]
GATE_LIMIT_S = 30.0
_ROUTES = [
    (
        re.compile(r"^/openai/deployments/([^/]+)/(chat/completions|embeddings)$"),
        "azure",
    ),
    (re.compile(r"^/openai/(?:v1/)?(chat/completions|models|embeddings)$"), "azure"),
    (re.compile(r"^/compatible-mode/v1/(chat/completions|models|embeddings)$"), "qwen"),
    (re.compile(r"^/v1/(chat/completions|models|embeddings|messages)$"), "openai"),
]


def _key_of(headers: Any) -> str:
    auth = headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return str(auth[7:].strip())
    return str(headers.get("api-key") or headers.get("x-api-key") or "")


class FakeUpstream:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self.models: list[str] = list(DEFAULT_MODELS)
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="fake-upstream", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or not self.url:
            raise RuntimeError("fake upstream did not start")

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._open())
            ready.set()
            loop.run_forever()
        finally:
            ready.set()
            loop.run_until_complete(self._close())
            loop.close()

    async def _open(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    # -- scripting and inspection ----------------------------------------------

    def base_url(self, provider: str) -> str:
        """The base_url a provider key should carry to reach this server."""
        if provider in ("azure", "anthropic"):
            return self.url
        if provider == "qwen":
            return f"{self.url}/compatible-mode/v1"
        return f"{self.url}/v1"  # openai, openai_compatible

    def script(
        self, key: str, replies: Iterable[Reply] = (), *, default: Reply | None = None
    ) -> None:
        """Queue ``replies`` for ``key`` (one per request); then ``default``."""
        with self._lock:
            self._queues.setdefault(key, deque()).extend(replies)
            if default is not None:
                self._defaults[key] = default

    def reset(self) -> None:
        with self._lock:
            self._queues.clear()
            self._defaults.clear()
            self._requests.clear()
            self.models = list(DEFAULT_MODELS)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_for(self, key: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.key == key]

    @property
    def last_request(self) -> RecordedRequest:
        found = self.requests
        if not found:
            raise AssertionError("the fake upstream received no request")
        return found[-1]

    async def wait_for_requests(self, count: int, within_s: float = 5.0) -> None:
        """Wait (in the caller's loop) until ``count`` requests were received."""
        deadline = time.monotonic() + within_s
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} upstream requests")
            await asyncio.sleep(0.005)

    def _next(self, key: str) -> Reply:
        with self._lock:
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
            return self._defaults.get(key) or Reply()

    # -- serving ----------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        wire, kind, deployment = self._route(request)
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=raw,
            json=body,
            key=_key_of(request.headers),
            wire=wire,
        )
        with self._lock:
            self._requests.append(record)
        if kind is None:
            record.outcome = "error"
            return self._error(wire, 404, "not_found", "Unknown path", record)
        reply = self._next(record.key)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        problem = self._check(request, wire, kind, body)
        if reply.status >= 300 or problem is not None:
            record.outcome = "error"
            if reply.status >= 300:
                return self._error(
                    wire, reply.status, reply.error_code, None, record, reply
                )
            return self._error(wire, 400, "invalid_request_error", problem, record)
        if reply.raw_stream is not None:
            frames = Frames()
            for frame in reply.raw_stream:
                frames.add(frame, content=True)
            return await self._stream(request, reply, record, frames, "raw")
        if reply.body is not None:
            record.outcome = "complete"
            payload = (
                reply.body
                if isinstance(reply.body, bytes)
                else orjson.dumps(reply.body)
            )
            return web.Response(body=payload, content_type="application/json")
        assert isinstance(body, dict) or kind == "models"
        if kind == "models":
            return self._models(request, wire, record)
        if kind == "embeddings":
            return self._embeddings(body or {}, reply, record)
        return await self._chat(request, body or {}, reply, record, deployment)

    def _route(self, request: web.Request) -> tuple[str, str | None, str | None]:
        for pattern, wire in _ROUTES:
            match = pattern.match(request.path)
            if match is None:
                continue
            groups = match.groups()
            kind = groups[-1].split("/")[0]
            deployment = groups[0] if len(groups) == 2 else None
            if kind == "messages" or (
                kind == "models" and "x-api-key" in request.headers
            ):
                wire = "anthropic"
            return wire, kind, deployment
        return "openai", None, None

    def _check(
        self, request: web.Request, wire: str, kind: str, body: Any
    ) -> str | None:
        """What a real service would reject (None: the request is fine)."""
        path = request.path
        if (
            wire == "azure"
            and not path.startswith("/openai/v1/")
            and "api-version" not in request.query
        ):
            return "Missing required query parameter api-version"
        if kind == "models":
            return None
        if not isinstance(body, dict):
            return "The body must be a JSON object"
        if kind == "embeddings":
            return None if body.get("input") else "input is required"
        if wire == "anthropic":
            if "anthropic-version" not in request.headers:
                return "anthropic-version: header is required"
            if not isinstance(body.get("max_tokens"), int):
                return "max_tokens: Field required"
            roles = {
                m.get("role") for m in body.get("messages") or () if isinstance(m, dict)
            }
            if not roles or not roles <= {"user", "assistant"}:
                return "messages: roles must be user or assistant"
            return None
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return "messages: must be a non-empty array"
        if wire != "azure" and not body.get("model"):
            return "model is required"
        return None

    def _error(
        self,
        wire: str,
        status: int,
        code: str | None,
        message: str | None,
        record: RecordedRequest,
        reply: Reply | None = None,
    ) -> web.Response:
        text = message or (reply.error_message if reply else None)
        if reply is not None and reply.body is not None:
            body = (
                reply.body
                if isinstance(reply.body, bytes)
                else orjson.dumps(reply.body)
            )
        elif wire == "anthropic":
            body = orjson.dumps(anthropic_error(status, code, text))
        else:
            body = orjson.dumps(openai_error(status, code, text, record.key))
        headers = dict(reply.headers) if reply else {}
        if reply is not None and reply.retry_after is not None:
            headers["Retry-After"] = str(reply.retry_after)
        return web.Response(
            status=status, body=body, headers=headers, content_type="application/json"
        )

    def _models(
        self, request: web.Request, wire: str, record: RecordedRequest
    ) -> web.Response:
        record.outcome = "complete"
        payload: dict[str, Any]
        if wire == "anthropic":
            models = [
                {
                    "type": "model",
                    "id": m,
                    "display_name": m,
                    "created_at": "2025-01-01T00:00:00Z",
                }
                for m in self.models
            ]
            payload = {
                "data": models,
                "has_more": False,
                "first_id": None,
                "last_id": None,
            }
        else:
            payload = {
                "object": "list",
                "data": [
                    {
                        "id": m,
                        "object": "model",
                        "created": 1700000000,
                        "owned_by": "fake",
                    }
                    for m in self.models
                ],
            }
        return web.Response(body=orjson.dumps(payload), content_type="application/json")

    def _embeddings(
        self, body: dict[str, Any], reply: Reply, record: RecordedRequest
    ) -> web.Response:
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dims = int(body.get("dimensions") or 8)
        data = []
        for i, text in enumerate(inputs):
            digest = hashlib.sha256(str(text).encode()).digest()
            vector = [round(digest[j % 32] / 255.0, 6) for j in range(dims)]
            data.append({"object": "embedding", "index": i, "embedding": vector})
        prompt = sum(words(str(t)) for t in inputs) or 1
        record.outcome = "complete"
        payload = {
            "object": "list",
            "data": data,
            "model": reply.model or body.get("model") or "text-embedding-3-small",
            "usage": {"prompt_tokens": prompt, "total_tokens": prompt},
        }
        return web.Response(body=orjson.dumps(payload), content_type="application/json")

    async def _chat(
        self,
        request: web.Request,
        body: dict[str, Any],
        reply: Reply,
        record: RecordedRequest,
        deployment: str | None,
    ) -> web.StreamResponse:
        model = reply.model or deployment or str(body.get("model"))
        answer: dict[str, Any] | Frames
        if record.wire == "anthropic":
            rid = f"msg_fake{next(self._ids)}"
            answer = anthropic_chat(body, reply, rid=rid, model=model)
        else:
            rid = f"chatcmpl-fake{next(self._ids)}"
            answer = openai_chat(body, reply, rid=rid, model=model, key=record.key)
        if isinstance(answer, Frames):
            return await self._stream(request, reply, record, answer, rid)
        record.outcome = "complete"
        return web.Response(
            body=orjson.dumps(answer),
            content_type="application/json",
            headers={"x-request-id": rid, "request-id": rid, **reply.headers},
        )

    async def _stream(
        self,
        request: web.Request,
        reply: Reply,
        record: RecordedRequest,
        frames: Frames,
        rid: str,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "x-request-id": rid,
                **reply.headers,
            }
        )
        await resp.prepare(request)
        sent = 0
        try:
            for frame, is_content in frames.items:
                if is_content:
                    if (
                        reply.drop_after_chunks is not None
                        and sent >= reply.drop_after_chunks
                    ):
                        record.outcome = "dropped"
                        assert request.transport is not None
                        request.transport.abort()
                        return resp
                    await self._pace(request, reply, sent)
                    sent += 1
                await resp.write(frame)
            await resp.write_eof()
        except ConnectionError:
            record.outcome = "client_disconnected"
            return resp
        record.outcome = "complete"
        return resp

    async def _pace(self, request: web.Request, reply: Reply, sent: int) -> None:
        """The delays before content chunk number ``sent`` (0-based)."""
        if reply.chunk_delay:
            await _sleep(request, reply.chunk_delay)
        if reply.stall_after_chunks == sent and reply.stall_s:
            await _sleep(request, reply.stall_s)
        if reply.gate is not None and reply.gate_after_chunks == sent:
            deadline = time.monotonic() + GATE_LIMIT_S
            while not reply.gate.is_set() and time.monotonic() < deadline:
                await _sleep(request, 0.005)


async def _sleep(request: web.Request, seconds: float) -> None:
    """Sleep, noticing a client that went away meanwhile (ConnectionResetError)."""
    deadline = time.monotonic() + seconds
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client went away")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.sleep(min(left, 0.01))
