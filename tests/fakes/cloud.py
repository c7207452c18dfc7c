"""The scaffolding of the Gemini and Bedrock stand-ins: an aiohttp server on
127.0.0.1 (port 0) in its own thread and event loop, replies scripted per key
(``Reply`` from replies.py, consumed one per request, then the key's default,
then the echo reply) and every request recorded."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterable

import orjson
from aiohttp import web

from tests.fakes.replies import RecordedRequest, Reply
from tests.fakes.wire import FakeUsage, Figures, words


def figures(reply: Reply, prompt_words: int, text: str) -> Figures:
    usage = reply.usage or FakeUsage()
    return Figures(
        prompt=usage.prompt_tokens
        if usage.prompt_tokens is not None
        else max(1, prompt_words),
        completion=usage.completion_tokens
        if usage.completion_tokens is not None
        else max(1, words(text)),
        cached=usage.cached_tokens,
        reasoning=usage.reasoning_tokens,
        cache_write=usage.cache_write_tokens,
    )


class ThreadedFake:
    """Subclasses implement ``handle(request, raw, record)`` and ``key_of``."""

    thread_name = "fake-cloud"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._requests: list[RecordedRequest] = []
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or not self.url:
            raise RuntimeError(f"{self.thread_name} did not start")

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._open())
            ready.set()
            loop.run_forever()
        finally:
            ready.set()
            if self._runner is not None:
                loop.run_until_complete(self._runner.cleanup())
            loop.close()

    async def _open(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    # -- scripting and inspection ----------------------------------------------

    def script(
        self, key: str, replies: Iterable[Reply] = (), *, default: Reply | None = None
    ) -> None:
        with self._lock:
            self._queues.setdefault(key, deque()).extend(replies)
            if default is not None:
                self._defaults[key] = default

    def reset(self) -> None:
        with self._lock:
            self._queues.clear()
            self._defaults.clear()
            self._requests.clear()

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
            raise AssertionError(f"{self.thread_name} received no request")
        return found[-1]

    def next_reply(self, key: str) -> Reply:
        with self._lock:
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
            return self._defaults.get(key) or Reply()

    # -- serving ----------------------------------------------------------------

    def key_of(self, request: web.Request) -> str:
        raise NotImplementedError

    async def handle(
        self, request: web.Request, record: RecordedRequest
    ) -> web.StreamResponse:
        raise NotImplementedError

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = None
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=raw,
            json=body,
            key=self.key_of(request),
            wire=self.thread_name,
        )
        with self._lock:
            self._requests.append(record)
        try:
            return await self.handle(request, record)
        except ConnectionError:
            record.outcome = "client_disconnected"
            raise
