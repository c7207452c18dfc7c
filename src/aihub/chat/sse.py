"""Server-sent events of a generation: ``event:``, a monotonic ``id:`` and one
JSON object in ``data:`` per frame; comment pings keep idle proxies from
closing the connection while a model thinks.

A run's frame ``n`` (1-based: ``start`` is 1) has id ``n`` in every response
that carries it, so a client re-attaching with ``Last-Event-ID: n`` gets frame
``n + 1`` onwards; frames sent before the run's (the ``thread`` frame of
``POST /api/threads/stream``) have id 0. A client hanging up does not stop the
run: it goes on to its end (or its timeout) and can be re-attached to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any, TypeVar

import orjson
from starlette.responses import StreamingResponse

from aihub.runs.generation import GenerationRun
from aihub.runs.spec import Frame

PING_EVERY_S = 15.0
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
T = TypeVar("T")


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


async def with_pings(source: AsyncIterator[T]) -> AsyncIterator[T | None]:
    """``source``'s items, with None every PING_EVERY_S of silence."""
    pending: asyncio.Task[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(source.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=PING_EVERY_S)
            if not done:
                yield None
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            pending = None
            yield item
    finally:
        if pending is not None:
            pending.cancel()


def frames_with_pings(run: GenerationRun) -> AsyncIterator[Frame | None]:
    """The run's frames, with None every PING_EVERY_S of silence."""
    return with_pings(run.frames())


async def numbered_body(
    frames: AsyncIterator[tuple[int, Frame]], before: Iterable[Frame] = ()
) -> AsyncIterator[bytes]:
    """SSE bytes of numbered frames (``before`` ones get id 0), with pings."""
    for event, data in before:
        yield encode(event, 0, data)
    async for item in with_pings(frames):
        if item is None:
            yield b": ping\n\n"
            continue
        event_id, (event, data) = item
        yield encode(event, event_id, data)


def stream_response(
    run: GenerationRun, before: Iterable[Frame] = (), after: int = 0
) -> StreamingResponse:
    """The run's frames after the first ``after``, then its live tail."""
    return sse_response(numbered_body(run.numbered_frames(after), list(before)))


def sse_response(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=HEADERS)
