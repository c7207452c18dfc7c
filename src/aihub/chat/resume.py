"""Re-attaching to an answer (``GET /api/threads/{id}/stream``).

A run of this process replays its frame log after ``Last-Event-ID`` and
follows it live. An answer running in another process (or whose frames are
gone) is followed through the database: one ``start``, one ``delta`` with the
stored text so far, then a ``delta`` with what was added each time the stored
text is read again (every flush interval, which is how often the owner writes
it) until the message leaves ``streaming``, then ``done``. On that path the ids
count its own frames (``start`` is 1), so a ``Last-Event-ID`` from another
process's stream cannot be honoured: the whole text is sent again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.calls.stream_errors import error_data
from aihub.chat.schemas import MAX_TIMEOUT_S
from aihub.runs.spec import HEARTBEAT_TTL_S, Frame
from aihub.threads import service as threads_service
from aihub.threads.errors import MessageNotFoundError
from aihub.threads.models import Message

FOLLOW_LIMIT_S = MAX_TIMEOUT_S + 2 * HEARTBEAT_TTL_S
"""A stored answer is followed at most this long (its owner's timeout plus the
time the orphan sweep needs), so a follower never outlives a lost answer."""


async def assistant_message(
    session: AsyncSession, *, thread_id: int, message_id: int | None
) -> Message:
    """The thread's assistant message ``message_id`` (its latest one when None);
    MessageNotFoundError for anything else. The thread is already the caller's."""
    if message_id is None:
        message = await threads_service.find_latest_answer(session, thread_id=thread_id)
    else:
        message = await threads_service.find_message(
            session, thread_id=thread_id, message_id=message_id
        )
    if message is None or message.role != "assistant":
        raise MessageNotFoundError(message_id or 0)
    return message


def _start(message: Message) -> Frame:
    return (
        "start",
        {
            "thread_id": message.thread_id,
            "user_message_id": message.parent_id,
            "assistant_message_id": message.id,
            "model": message.model,
            "provider": message.provider,
        },
    )


def _end(message: Message) -> list[Frame]:
    meta: dict[str, Any] = dict(message.meta_data or {})
    frames: list[Frame] = []
    error = meta.get("error")
    if message.status == "error" and isinstance(error, dict):
        kind, text = str(error.get("error_type")), str(error.get("error_message"))
        frames.append(("error", error_data("hub", kind, text)))
    tokens = meta.get("tokens") or {}
    frames.append(
        (
            "done",
            {
                "thread_id": message.thread_id,
                "assistant_message_id": message.id,
                "status": message.status,
                "reason": meta.get("reason"),
                "usage": {
                    "prompt_tokens": int(tokens.get("prompt_tokens") or 0),
                    "completion_tokens": int(tokens.get("completion_tokens") or 0),
                    "total_tokens": int(tokens.get("total_tokens") or 0),
                },
                "cost": meta.get("cost", 0.0),
                "latency_ms": meta.get("latency_ms"),
            },
        )
    )
    return frames


async def stored_frames(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    thread_id: int,
    message_id: int,
    poll_s: float,
) -> AsyncIterator[tuple[int, Frame]]:
    """Numbered frames of a stored answer, following it while it streams."""
    event_id, sent = 0, 0
    deadline = time.monotonic() + FOLLOW_LIMIT_S
    while True:
        async with sessionmaker() as session:
            message = await threads_service.find_message(
                session, thread_id=thread_id, message_id=message_id
            )
        if message is None:  # deleted with its thread meanwhile
            return
        if event_id == 0:
            event_id += 1
            yield event_id, _start(message)
        text = message.content or ""
        if len(text) > sent:
            event_id += 1
            yield event_id, ("delta", {"content": text[sent:]})
            sent = len(text)
        if message.status != "streaming":
            for frame in _end(message):
                event_id += 1
                yield event_id, frame
            return
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(poll_s)
