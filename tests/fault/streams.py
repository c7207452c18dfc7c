"""Clients of the fault suite: live SSE streams, polling, database checks."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from aihub.threads.models import Message
from aihub.usage.models import RequestLog


@dataclass
class LiveStream:
    """An SSE answer being read in a task; ``frames`` grows as it arrives."""

    frames: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    status_code: int | None = None

    def data(self, event: str) -> list[dict[str, Any]]:
        return [d for name, d in self.frames if name == event]

    @property
    def deltas(self) -> int:
        return len(self.data("delta"))

    @property
    def done(self) -> dict[str, Any] | None:
        found = self.data("done")
        return found[-1] if found else None


async def open_stream(
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    *,
    until: Callable[[LiveStream], bool],
    within_s: float = 30.0,
) -> LiveStream:
    """POST ``body`` (GET when None) and read the SSE answer in a task; return
    once ``until`` holds."""
    stream = LiveStream()
    method = "GET" if body is None else "POST"

    async def read() -> None:
        async with client.stream(method, path, json=body, headers=headers) as resp:
            stream.status_code = resp.status_code
            if resp.status_code != 200:
                await resp.aread()
                stream.frames.append(("http_error", {"body": resp.text}))
                return
            event = "message"
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    payload = line[6:]
                    if payload.strip() == "[DONE]":
                        stream.frames.append(("[DONE]", {}))
                        continue
                    stream.frames.append((event, json.loads(payload)))
                    event = "message"

    stream.task = asyncio.create_task(read())
    deadline = time.monotonic() + within_s
    while not until(stream):
        if stream.task.done():
            stream.task.result()  # raises what broke it
            raise AssertionError(f"the stream ended early: {stream.frames[-3:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the stream never got there: {stream.frames[-3:]}")
        await asyncio.sleep(0.05)
    return stream


async def poll(
    check: Callable[[], Awaitable[Any]], *, within_s: float, every_s: float = 0.1
) -> tuple[Any, float]:
    """Call ``check`` until it returns something truthy; (it, seconds taken)."""
    started = time.monotonic()
    while True:
        found = await check()
        if found:
            return found, time.monotonic() - started
        if time.monotonic() - started > within_s:
            raise AssertionError(f"nothing within {within_s} s")
        await asyncio.sleep(every_s)


async def messages_of(engine: AsyncEngine, thread_id: int) -> list[Message]:
    async with AsyncSession(engine) as session:
        rows = await session.scalars(
            select(Message).where(Message.thread_id == thread_id).order_by(Message.id)
        )
        return list(rows.all())


async def usage_rows(engine: AsyncEngine, message_id: int) -> int:
    async with AsyncSession(engine) as session:
        count = await session.scalar(
            select(func.count())
            .select_from(RequestLog)
            .where(RequestLog.message_id == message_id)
        )
        return int(count or 0)
