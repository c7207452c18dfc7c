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
from sqlalchemy import update

from aihub.core.db import utcnow
from aihub.threads.models import Message as ChatMessage

if TYPE_CHECKING:  # runs.py imports this module
    from aihub.chat.runs import RunHub, RunSpec

log = structlog.get_logger(__name__)

HEARTBEAT_EVERY_S = 10.0


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
                await asyncio.shield(self._flush(self._text()))

    async def _flush(self, text: str) -> None:
        try:
            async with self.hub.sessionmaker() as session:
                await session.execute(
                    update(ChatMessage)
                    .where(
                        ChatMessage.id == self.message_id,
                        ChatMessage.status == "streaming",
                    )
                    .values(content=text, updated_at=utcnow())
                )
                await session.commit()
        except Exception:  # the stream goes on; the next flush retries
            log.exception("answer_flush_failed", message_id=self.message_id)
