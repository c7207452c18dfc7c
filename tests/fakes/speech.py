"""A fake OpenAI-compatible speech server: a real HTTP server on 127.0.0.1
(port 0) in its own thread and event loop.

- POST /v1/audio/transcriptions (multipart ``file``, ``model``, ...): answers
  ``{"text": ...}`` (or plain text for ``response_format=text``);
- POST /v1/audio/speech (JSON): answers raw PCM16 mono at 24 kHz (OpenAI's
  ``pcm``) for any format asked: a tone lasting ``ms_per_char`` per character
  of the input, streamed in 100 ms chunks;
- GET /v1/models.

Replies are scripted per API key (``SpeechReply``: ``text``, ``status``,
``delay`` before the headers, ``chunk_delay`` between audio chunks), else the
key's default, else ``default_text`` for transcriptions and the tone. Every
request is recorded (``requests``), with the uploaded file's bytes.
"""

from __future__ import annotations

import array
import asyncio
import math
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

PCM_RATE = 24000
CHUNK_BYTES = PCM_RATE * 2 // 10


@dataclass
class SpeechReply:
    text: str | None = None
    status: int = 200
    delay: float = 0.0
    chunk_delay: float = 0.0
    ms_per_char: float | None = None
    retry_after: float | None = None


@dataclass
class SpeechRequest:
    path: str
    key: str
    fields: dict[str, str] = field(default_factory=dict)
    json: Any = None
    file: bytes = b""
    filename: str | None = None


def tone(duration_ms: float, freq: float = 220.0) -> bytes:
    count = int(PCM_RATE * duration_ms / 1000)
    samples = array.array(
        "h",
        (int(8000 * math.sin(2 * math.pi * freq * i / PCM_RATE)) for i in range(count)),
    )
    return samples.tobytes()


class FakeSpeech:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[SpeechReply]] = {}
        self._defaults: dict[str, SpeechReply] = {}
        self._requests: list[SpeechRequest] = []
        self.default_text = "hello from the fake transcriber"
        self.ms_per_char = 20.0
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="fake-speech", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or not self.url:
            raise RuntimeError("fake speech server did not start")

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
        app.router.add_post("/v1/audio/transcriptions", self._transcribe)
        app.router.add_post("/v1/audio/speech", self._speech)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    # -- scripting ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def script(
        self,
        key: str,
        replies: Iterable[SpeechReply] = (),
        *,
        default: SpeechReply | None = None,
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
            self.default_text = "hello from the fake transcriber"
            self.ms_per_char = 20.0

    @property
    def requests(self) -> list[SpeechRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_end: str) -> list[SpeechRequest]:
        return [r for r in self.requests if r.path.endswith(path_end)]

    def _next(self, key: str) -> SpeechReply:
        with self._lock:
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
            return self._defaults.get(key) or SpeechReply()

    # -- serving -----------------------------------------------------------------

    @staticmethod
    def _key(request: web.Request) -> str:
        auth = request.headers.get("Authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else ""

    async def _failed(self, reply: SpeechReply) -> web.Response | None:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status < 300:
            return None
        headers = {}
        if reply.retry_after is not None:
            headers["Retry-After"] = str(reply.retry_after)
        body = {"error": {"message": "fake failure", "type": "server_error"}}
        return web.json_response(body, status=reply.status, headers=headers)

    async def _transcribe(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        record = SpeechRequest(path=request.path, key=self._key(request))
        for name, value in form.items():
            if isinstance(value, web.FileField):
                record.file = value.file.read()
                record.filename = value.filename
            else:
                record.fields[name] = str(value)
        with self._lock:
            self._requests.append(record)
        reply = self._next(record.key)
        failure = await self._failed(reply)
        if failure is not None:
            return failure
        if not record.file or "model" not in record.fields:
            return web.json_response({"error": {"message": "bad form"}}, status=400)
        text = reply.text if reply.text is not None else self.default_text
        if record.fields.get("response_format") == "text":
            return web.Response(text=text, content_type="text/plain")
        return web.json_response({"text": text})

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        record = SpeechRequest(path=request.path, key=self._key(request), json=body)
        with self._lock:
            self._requests.append(record)
        reply = self._next(record.key)
        failure = await self._failed(reply)
        if failure is not None:
            return failure
        if not body.get("input") or not body.get("model"):
            return web.json_response({"error": {"message": "bad body"}}, status=400)
        ms = reply.ms_per_char if reply.ms_per_char is not None else self.ms_per_char
        audio = tone(max(100.0, ms * len(body["input"])))
        resp = web.StreamResponse(headers={"Content-Type": "audio/pcm"})
        await resp.prepare(request)
        try:
            for start in range(0, len(audio), CHUNK_BYTES):
                if reply.chunk_delay and start:
                    await asyncio.sleep(reply.chunk_delay)
                await resp.write(audio[start : start + CHUNK_BYTES])
            await resp.write_eof()
        except ConnectionError:
            return resp
        return resp

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model"} for m in ("whisper-1", "tts-1")]
        return web.json_response({"object": "list", "data": data})
