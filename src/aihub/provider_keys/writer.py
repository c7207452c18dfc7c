"""Persists key health and last use to provider_keys off the hot path.

The pool records what a row should say; one background task writes it in short
transactions, only when it differs from what the row is known to say, the
latest value per key winning. last_used_at is written at most once a minute per
key. ``flush()`` writes everything recorded so far (tests, shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.db import utcnow
from aihub.core.tasks import cancel_requested
from aihub.provider_keys import repository

log = structlog.get_logger(__name__)

LAST_USED_EVERY_S = 60.0
RETRY_AFTER_FAILURE_S = 1.0


@dataclass(frozen=True, slots=True)
class RowHealth:
    """The health columns of one provider_keys row."""

    status: str
    cooldown_until: datetime | None
    last_error: str | None


class HealthWriter:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._known: dict[int, RowHealth] = {}
        self._pending: dict[int, RowHealth] = {}
        self._inflight: dict[int, RowHealth] = {}
        self._used: dict[int, datetime] = {}
        self._used_marks: dict[int, float] = {}
        self._dirty = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="provider-key-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def known(self, key_id: int, row: RowHealth) -> None:
        """What the row says now (read from the database or announced); a write
        of ours still on its way outranks it."""
        if key_id not in self._pending and key_id not in self._inflight:
            self._known[key_id] = row

    def forget(self, key_id: int) -> None:
        for table in (self._known, self._pending, self._used, self._used_marks):
            table.pop(key_id, None)

    def record(self, key_id: int, row: RowHealth) -> None:
        """Make the row say ``row``, unless it (or a pending write) already does."""
        if self._expected(key_id) == row:
            return
        self._pending[key_id] = row
        self._dirty.set()

    def _expected(self, key_id: int) -> RowHealth | None:
        for table in (self._pending, self._inflight, self._known):
            if key_id in table:
                return table[key_id]
        return None

    def record_use(self, key_id: int) -> None:
        mono = time.monotonic()
        if mono - self._used_marks.get(key_id, -LAST_USED_EVERY_S) < LAST_USED_EVERY_S:
            return
        self._used_marks[key_id] = mono
        self._used[key_id] = utcnow()
        self._dirty.set()

    async def flush(self) -> bool:
        """Write what is pending; False when the database refused (kept for later)."""
        async with self._lock:
            pending, self._pending = self._pending, {}
            used, self._used = self._used, {}
            if not pending and not used:
                return True
            self._inflight = pending
            try:
                await self._write(pending, used)
            except SQLAlchemyError as exc:
                log.warning(
                    "provider_key_health_not_saved",
                    keys=sorted(pending),
                    error=str(exc),
                )
                self._requeue(pending, used)
                return False
            except BaseException:  # cancelled mid-write: keep it for the last flush
                self._requeue(pending, used)
                raise
            finally:
                self._inflight = {}
            self._known.update(pending)
            return True

    def _requeue(
        self, pending: dict[int, RowHealth], used: dict[int, datetime]
    ) -> None:
        for key_id, row in pending.items():
            self._pending.setdefault(key_id, row)
        for key_id, at in used.items():
            self._used.setdefault(key_id, at)

    async def _write(
        self, pending: dict[int, RowHealth], used: dict[int, datetime]
    ) -> None:
        async with self._sessionmaker() as session:
            for key_id, row in pending.items():
                await repository.update_health(
                    session,
                    key_id=key_id,
                    status=row.status,
                    cooldown_until=row.cooldown_until,
                    last_error=row.last_error,
                )
            if used:
                await repository.update_last_used(session, used_at=used)
            await session.commit()

    async def _run(self) -> None:
        while not cancel_requested():
            await self._dirty.wait()
            self._dirty.clear()
            if not await self.flush():
                await asyncio.sleep(RETRY_AFTER_FAILURE_S)
                self._dirty.set()
