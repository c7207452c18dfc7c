"""Keeping a growing answer stored while it streams.

One ``AnswerKeeper`` per streaming assistant message (a hub thread's generation
or a stored /v1 call): every ``flush_interval_s`` it writes the text so far when
it changed, and every ``hub.heartbeat_every_s`` it renews the message's heartbeat
key, so sweeps leave a live answer alone and a crash leaves the partial text for
``recover_orphans`` to mark ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.threads import service as threads_service

if TYPE_CHECKING:  # the hub and the runs import this module
    from aihub.runs.hub import RunHub
    from aihub.runs.spec import RunSpec

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY_S = 10.0


class TextWriter:
    """Writes the growing text of every answer of this process in ONE short
    transaction per flush interval: a thousand streams cost one pooled
    connection twice a second, not a thousand (which starved the pool for every
    other request). Only rows still ``streaming`` are written, so a late batch
    never overwrites a final answer."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], interval_s: float
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval_s = interval_s
        self._pending: dict[int, str] = {}
        self._task: asyncio.Task[None] | None = None
        self._running = False

    def put(self, message_id: int, text: str) -> None:
        self._pending[message_id] = text

    def start(self) -> None:
        self._running = True
        self._task = asyncio.create_task(self._loop(), name="answer-text-writer")

    async def close(self) -> None:
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _loop(self) -> None:
        while self._running:
            await asyncio.sleep(self._interval_s)
            await asyncio.shield(self.flush())

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, {}
        try:
            async with self._sessionmaker() as session:
                await threads_service.write_streaming_texts(session, batch)
                await session.commit()
        except Exception:  # the streams go on; their next growth is written again
            log.exception("answer_flush_failed", messages=len(batch))
            for message_id, text in batch.items():
                self._pending.setdefault(message_id, text)


class AnswerKeeper:
    def __init__(self, hub: RunHub, spec: RunSpec, text: Callable[[], str]) -> None:
        self.hub = hub
        self.spec = spec
        self._text = text
        self._dirty = False
        self._keeping = True
        self._task: asyncio.Task[None] | None = None

    @property
    def message_id(self) -> int:
        return self.spec.assistant_message_id

    def touch(self) -> None:
        """The text grew: write it at the next flush."""
        self._dirty = True

    def start(self) -> None:
        self._task = asyncio.create_task(
            self.run(), name=f"answer-keeper-{self.message_id}"
        )

    async def stop(self) -> None:
        """End the loop (the final text is the caller's to store)."""
        # The flag ends the loop even if a client library swallowed the
        # cancellation (redis-py can, mid-command): it then ends at its next turn.
        self._keeping = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        """Flush every flush interval; beat every ``hub.heartbeat_every_s``,
        and every second while the state store is away."""
        last_beat = 0.0
        every = self.hub.heartbeat_every_s
        while self._keeping:
            now = time.monotonic()
            if now - last_beat >= every:
                last_beat = now
                if not await self.hub.heartbeat(self.spec):
                    last_beat = now - every + min(every, 1.0)
            await asyncio.sleep(self.hub.flush_interval_s)
            if self._dirty:
                self._dirty = False
                self.hub.text_writer.put(self.message_id, self._text())
