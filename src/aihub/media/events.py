"""A job's events: numbered rows in media_job_events (the record a reconnecting
client reads from) and the same event published on the event bus (so every
process's SSE clients hear it at once).

Event names and data follow architecture.md ("Media jobs"): queued, started,
progress {percent, stage}, then completed {artifacts}, failed {error_message,
error_type} or cancelled; every data object has job_id and status.

    seq = await record(session, job, "progress", {"percent": 40, "stage": "x"})
    await session.commit()
    await publish(bus, job.id, [seq])

``follow`` yields a job's events after a given seq (Last-Event-ID): stored
ones first, then live ones from the bus; it re-reads the table on a gap or
when the bus is quiet, since the bus delivers at most once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events import EventBus, Message
from aihub.media import repository
from aihub.media.models import MediaJob, MediaJobEvent

log = structlog.get_logger(__name__)

TERMINAL = frozenset({"completed", "failed", "cancelled"})
CANCEL_CHANNEL = "media.cancel"
QUIET_S = 5.0


def channel(job_id: int) -> str:
    return f"media.job.{job_id}"


@dataclass(frozen=True, slots=True)
class JobEvent:
    seq: int
    event: str
    data: dict[str, Any]

    @property
    def is_terminal(self) -> bool:
        return self.event in TERMINAL


async def record(
    session: AsyncSession,
    job: MediaJob,
    event: str,
    extra: dict[str, Any] | None = None,
    *,
    status: str | None = None,
) -> JobEvent:
    """Add the job's next event (after the UPDATE that moved it, in the same
    transaction); ``status`` is the job's new status (default: its own)."""
    seq = await repository.next_seq(session, job_id=job.id)
    data = {"job_id": job.id, "status": status or job.status, **(extra or {})}
    repository.add_event(
        session, MediaJobEvent(job_id=job.id, seq=seq, event=event, data=data)
    )
    return JobEvent(seq, event, data)


async def publish(bus: EventBus, job_id: int, events: Sequence[JobEvent]) -> None:
    """Announce committed events (best effort: followers re-read the table)."""
    for item in events:
        try:
            await bus.publish(
                channel(job_id),
                {"seq": item.seq, "event": item.event, "data": item.data},
            )
        except BackendUnavailableError:
            log.warning("media_event_not_published", job_id=job_id, seq=item.seq)


def _from_message(message: Message) -> JobEvent | None:
    seq, event, data = message.get("seq"), message.get("event"), message.get("data")
    if isinstance(seq, int) and isinstance(event, str) and isinstance(data, dict):
        return JobEvent(seq, event, data)
    return None


class _Reader:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], job_id: int
    ) -> None:
        self._sessionmaker = sessionmaker
        self._job_id = job_id

    async def after(self, seq: int) -> tuple[list[JobEvent], bool]:
        """Stored events after ``seq``, and whether the job still exists."""
        async with self._sessionmaker() as session:
            rows = await repository.list_events(session, job_id=self._job_id, after=seq)
            exists = bool(rows) or (
                await repository.get_job(session, job_id=self._job_id) is not None
            )
        return [JobEvent(r.seq, r.event, dict(r.data)) for r in rows], exists


async def follow(
    sessionmaker: async_sessionmaker[AsyncSession],
    bus: EventBus,
    *,
    job_id: int,
    after: int = 0,
    quiet_s: float = QUIET_S,
) -> AsyncIterator[JobEvent | None]:
    """The job's events after ``after`` up to the final one; None when nothing
    happened for ``quiet_s`` (a moment to send a keep-alive)."""
    reader = _Reader(sessionmaker, job_id)
    last = after
    async with bus.subscribe(channel(job_id)) as messages:
        batch, exists = await reader.after(last)
        iterator = messages.__aiter__()
        pending: asyncio.Future[Message] | None = None
        try:
            while True:
                for item in batch:
                    if item.seq <= last:
                        continue
                    yield item
                    last = item.seq
                    if item.is_terminal:
                        return
                if not exists:
                    return
                if pending is None:
                    pending = asyncio.ensure_future(anext(iterator))
                done, _ = await asyncio.wait({pending}, timeout=quiet_s)
                if not done:
                    batch, exists = await reader.after(last)
                    if not batch:
                        yield None
                    continue
                try:
                    message = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                live = _from_message(message)
                if live is None or live.seq <= last:
                    batch = []
                elif live.seq == last + 1:
                    batch = [live]
                else:  # a gap: the bus lost something, the table has it
                    batch, exists = await reader.after(last)
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending


async def last_event(
    sessionmaker: async_sessionmaker[AsyncSession], *, job_id: int
) -> JobEvent | None:
    async with sessionmaker() as session:
        rows = await repository.list_events(session, job_id=job_id, after=0)
    if not rows:
        return None
    row = rows[-1]
    return JobEvent(row.seq, row.event, dict(row.data))
