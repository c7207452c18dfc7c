"""A fake media provider: a real HTTP server on 127.0.0.1 (port 0) in its own
thread, speaking SuperDuperAI's file API and OpenAI / Azure OpenAI images.

=================================================  ===============================
path                                               wire
=================================================  ===============================
POST /api/v1/file/generate-image|generate-video   SuperDuperAI submit (Bearer):
                                                   a JSON array of file objects
GET  /api/v1/file/{id}                             SuperDuperAI file: ``progress``
                                                   grows over ``polls`` polls,
                                                   then ``url`` (tasks emptied)
POST /api/v1/file                                  SuperDuperAI upload (payload)
POST /v1/images/generations, /v1/images/edits      OpenAI images (Bearer)
POST /openai/deployments/{d}/images/generations    Azure OpenAI (api-key,
                                                   api-version)
GET  /media/{name}                                 the generated PNG / MP4 bytes
=================================================  ===============================

Files are small but real: PNGs made with zlib+struct at the requested size,
MP4s with ftyp/moov(mvhd, trak/tkhd)/mdat boxes carrying the requested size and
duration. Behaviour is scripted per API key with ``MediaScript`` (polls before
done, failures on submit or poll, a failed generation, a gate that holds a
job at its last progress step until set); every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import struct
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

GATE_LIMIT_S = 30.0


def make_png(
    width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 80, 40)
) -> bytes:
    """A valid RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def make_mp4(width: int = 320, height: int = 240, duration_s: float = 5.0) -> bytes:
    """A small ISO-BMFF (MP4) file: ftyp, moov (mvhd, trak/tkhd), mdat."""
    timescale = 1000
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, timescale, int(duration_s * timescale))
        + struct.pack(">IH10x", 0x10000, 0x100)
        + matrix
        + b"\x00" * 24
        + struct.pack(">I", 2),
    )
    tkhd = _box(
        b"tkhd",
        struct.pack(">B3BIIIII", 0, 0, 0, 3, 0, 0, 1, 0, int(duration_s * timescale))
        + b"\x00" * 8
        + struct.pack(">hhhH", 0, 0, 0, 0)
        + matrix
        + struct.pack(">II", width << 16, height << 16),
    )
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    moov = _box(b"moov", mvhd + _box(b"trak", tkhd))
    return ftyp + moov + _box(b"mdat", b"\x00" * 64)


@dataclass
class MediaScript:
    """How the fake answers one API key.

    polls: GETs of a SuperDuperAI file before it is done (progress grows);
    submit_failures: statuses answered to the next submits, in order;
    poll_failures: statuses answered to the next file GETs, in order;
    fail_generation: the file ends with a task in status ``error``;
    result_url: the URL a done SuperDuperAI file reports instead of the fake's
    own (a hostile provider pointing aihub elsewhere);
    gate: the file stays at its last step before done until the event is set
    (and OpenAI calls wait for it); retry_after: sent with 429s."""

    polls: int = 3
    submit_failures: list[int] = field(default_factory=list)
    poll_failures: list[int] = field(default_factory=list)
    fail_generation: bool = False
    gate: threading.Event | None = None
    retry_after: float | None = None
    result_url: str | None = None


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    key: str | None
    at: float = 0.0
    """time.monotonic() when the request arrived (same clock as the test's)."""


@dataclass
class _File:
    id: str
    key: str
    kind: str
    width: int
    height: int
    duration: float
    polls: int
    fail: bool
    gate: threading.Event | None
    seen: int = 0


class FakeMediaUpstream:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, MediaScript] = {}
        self._files: dict[str, _File] = {}
        self._blobs: dict[str, tuple[bytes, str]] = {}
        self.requests: list[Recorded] = []
        self.made: list[bytes] = []
        """Every file the fake produced, in order."""
        self.done_at: dict[str, float] = {}
        """perf_counter() when each SuperDuperAI file was first answered done."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._order = itertools.count(1)
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="fake-media", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake media upstream did not start")

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._open())
            ready.set()
            loop.run_forever()
        finally:
            loop.run_until_complete(self._close())
            loop.close()

    async def _open(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_post("/api/v1/file/generate-image", self._submit)
        app.router.add_post("/api/v1/file/generate-video", self._submit)
        app.router.add_get("/api/v1/file/{id}", self._file)
        app.router.add_post("/api/v1/file", self._upload)
        app.router.add_post("/v1/images/generations", self._openai)
        app.router.add_post("/v1/images/edits", self._openai_edit)
        app.router.add_post(
            "/openai/deployments/{deployment}/images/generations", self._azure
        )
        app.router.add_get("/media/{name}", self._media)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            for script in self._scripts.values():
                if script.gate is not None:
                    script.gate.set()
            self._scripts.clear()
            self._files.clear()
            self._blobs.clear()
            self.requests.clear()
            self.made.clear()
            self.done_at.clear()

    # -- scripting --------------------------------------------------------------------

    def base_url(self, provider: str) -> str:
        return f"{self.url}/v1" if provider == "openai" else self.url

    def script(self, key: str, script: MediaScript) -> MediaScript:
        with self._lock:
            self._scripts[key] = script
        return script

    def _script(self, key: str | None) -> MediaScript:
        with self._lock:
            return self._scripts.setdefault(key or "", MediaScript())

    def requests_to(self, fragment: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if fragment in r.path]

    # -- helpers ----------------------------------------------------------------------

    async def _record(self, request: web.Request, key: str | None) -> Any:
        body: Any = None
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            body = orjson.loads(raw)
        with self._lock:
            self.requests.append(
                Recorded(
                    request.method,
                    request.path_qs,
                    dict(request.headers),
                    body,
                    key,
                    time.monotonic(),
                )
            )
        return body

    @staticmethod
    def _bearer(request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else None

    @staticmethod
    def _error(status: int, retry_after: float | None = None) -> web.Response:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        message = {402: "insufficient credits", 401: "invalid token"}.get(
            status, f"fake failure {status}"
        )
        return web.json_response(
            {"error": {"message": message, "type": "fake", "code": str(status)}},
            status=status,
            headers=headers,
        )

    def _store(
        self, name: str, kind: str, width: int, height: int, duration: float
    ) -> str:
        if kind == "video":
            data, media_type = make_mp4(width, height, duration), "video/mp4"
            name += ".mp4"
        else:
            shade = next(self._order) % 200
            data, media_type = make_png(width, height, (shade, 90, 160)), "image/png"
            name += ".png"
        with self._lock:
            self._blobs[name] = (data, media_type)
            self.made.append(data)
        return f"{self.url}/media/{name}"

    # -- SuperDuperAI -----------------------------------------------------------------

    def _file_object(self, item: _File, url: str | None) -> dict[str, Any]:
        done = url is not None
        progress = min(item.seen / max(item.polls, 1), 0.99) if not done else 1.0
        tasks = (
            []
            if done
            else [
                {
                    "id": f"task-{item.id}",
                    "type": f"{item.kind}-generation-flow",
                    "status": "error"
                    if item.fail and item.seen >= item.polls
                    else "in_progress",
                    "file_id": item.id,
                }
            ]
        )
        return {
            "id": item.id,
            "url": url,
            "thumbnail_url": None,
            "type": item.kind,
            "image_generation_id": item.id if item.kind == "image" else None,
            "video_generation_id": item.id if item.kind == "video" else None,
            "duration": item.duration if item.kind == "video" else None,
            "progress": round(progress, 3),
            "tasks": tasks,
        }

    async def _submit(self, request: web.Request) -> web.Response:
        key = self._bearer(request)
        body = await self._record(request, key)
        if key is None:
            return self._error(401)
        script = self._script(key)
        with self._lock:
            failure = script.submit_failures.pop(0) if script.submit_failures else None
        if failure is not None:
            return self._error(failure, script.retry_after)
        if (
            not isinstance(body, dict)
            or not body.get("prompt")
            or not body.get("model")
        ):
            return web.json_response(
                {"detail": "prompt and model are required"}, status=422
            )
        kind = "video" if request.path.endswith("video") else "image"
        files = []
        for _ in range(int(body.get("count") or 1)):
            item = _File(
                id=str(uuid.uuid4()),
                key=key,
                kind=kind,
                width=int(body.get("width") or 64),
                height=int(body.get("height") or 64),
                duration=float(body.get("duration") or 5),
                polls=script.polls,
                fail=script.fail_generation,
                gate=script.gate,
            )
            with self._lock:
                self._files[item.id] = item
            files.append(self._file_object(item, None))
        return web.json_response(files)

    async def _file(self, request: web.Request) -> web.Response:
        key = self._bearer(request)
        await self._record(request, key)
        if key is None:
            return self._error(401)
        script = self._script(key)
        with self._lock:
            failure = script.poll_failures.pop(0) if script.poll_failures else None
            item = self._files.get(request.match_info["id"])
        if failure is not None:
            return self._error(failure, script.retry_after)
        if item is None:
            return web.json_response({"detail": "Not found"}, status=404)
        with self._lock:
            item.seen += 1
        held = item.gate is not None and not item.gate.is_set()
        if item.seen <= item.polls or item.fail or held:
            if held:
                item.seen = min(item.seen, item.polls)
            return web.json_response(self._file_object(item, None))
        url = self._store(item.id, item.kind, item.width, item.height, item.duration)
        with self._lock:
            self.done_at.setdefault(item.id, time.perf_counter())
        return web.json_response(self._file_object(item, script.result_url or url))

    async def _upload(self, request: web.Request) -> web.Response:
        key = self._bearer(request)
        form = await request.post()
        with self._lock:
            self.requests.append(
                Recorded("POST", request.path, dict(request.headers), None, key)
            )
        payload = form.get("payload")
        if key is None or not isinstance(payload, web.FileField):
            return self._error(401 if key is None else 422)
        return web.json_response({"id": str(uuid.uuid4()), "url": None, "tasks": []})

    async def _media(self, request: web.Request) -> web.Response:
        with self._lock:
            found = self._blobs.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    # -- OpenAI / Azure images --------------------------------------------------------

    async def _images(self, key: str, body: dict[str, Any]) -> web.Response:
        script = self._script(key)
        with self._lock:
            failure = script.submit_failures.pop(0) if script.submit_failures else None
        if failure is not None:
            return self._error(failure, script.retry_after)
        if script.gate is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, script.gate.wait, GATE_LIMIT_S
            )
        width, _, height = str(body.get("size") or "64x64").partition("x")
        data = []
        for _ in range(int(body.get("n") or 1)):
            shade = next(self._order) % 200
            png = make_png(int(width), int(height), (40, shade, 90))
            with self._lock:
                self.made.append(png)
            data.append(
                {
                    "b64_json": base64.b64encode(png).decode(),
                    "revised_prompt": body.get("prompt"),
                }
            )
        return web.json_response({"created": 1700000000, "data": data})

    async def _openai(self, request: web.Request) -> web.Response:
        key = self._bearer(request)
        body = await self._record(request, key)
        if key is None:
            return self._error(401)
        return await self._images(key, body)

    async def _openai_edit(self, request: web.Request) -> web.Response:
        key = self._bearer(request)
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        with self._lock:
            self.requests.append(
                Recorded("POST", request.path, dict(request.headers), fields, key)
            )
        if key is None or not isinstance(form.get("image"), web.FileField):
            return self._error(401 if key is None else 400)
        return await self._images(key, fields)

    async def _azure(self, request: web.Request) -> web.Response:
        key = request.headers.get("api-key")
        body = await self._record(request, key)
        if key is None:
            return self._error(401)
        if not request.query.get("api-version"):
            return self._error(404)
        return await self._images(key, body)
