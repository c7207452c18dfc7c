"""Server-sent events of a generation: ``event:``, a monotonic ``id:`` and one
JSON object in ``data:`` per frame; comment pings keep idle proxies from
closing the connection while a model thinks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson
from starlette.responses import StreamingResponse

from aihub.chat.runs import Frame, GenerationRun

PING_EVERY_S = 15.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def encode(event: str, event_id: int, data: dict[str, Any]) -> bytes:
    return (
        b"event: "
        + event.encode()
        + b"\nid: "
        + str(event_id).encode()
        + b"\ndata: "
        + orjson.dumps(data)
        + b"\n\n"
    )


async def frames_with_pings(run: GenerationRun) -> AsyncIterator[Frame | None]:
    """The run's frames, with None every PING_EVERY_S of silence."""
    frames = run.frames().__aiter__()
    pending: asyncio.Task[Frame] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(frames.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=PING_EVERY_S)
            if not done:
                yield None
                continue
            try:
                frame = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield frame
    finally:
        if pending is not None:
            pending.cancel()


async def _body(run: GenerationRun, before: Iterable[Frame]) -> AsyncIterator[bytes]:
    event_id = 0
    try:
        for event, data in before:
            event_id += 1
            yield encode(event, event_id, data)
        async for frame in frames_with_pings(run):
            if frame is None:
                yield b": ping\n\n"
                continue
            event_id += 1
            yield encode(frame[0], event_id, frame[1])
    finally:
        # The client went away (or the response was torn down) mid-stream.
        if not run.finished.is_set():
            run.stop("client_disconnected")


def stream_response(
    run: GenerationRun, before: Iterable[Frame] = ()
) -> StreamingResponse:
    return StreamingResponse(
        _body(run, list(before)), media_type="text/event-stream", headers=HEADERS
    )
