"""Request-log rows written in batches, off the request path (the gateway's).

``writer.add(record)`` costs a list append; a background task inserts what has
gathered every ``interval_s`` (or at once past ``batch`` rows) with one
executemany, no ORM objects. Shutdown flushes what is left. A failed flush is
logged and its rows are retried once with the next batch, never blocking a
request.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.db import utcnow
from aihub.core.tasks import cancel_requested
from aihub.usage.models import RequestLog
from aihub.usage.recording import CallRecord, row_values

log = structlog.get_logger(__name__)
_TABLE: Table = RequestLog.__table__  # type: ignore[assignment]  # a Table

MAX_PENDING = 100_000


class RequestLogWriter:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval_s: float = 0.5,
        batch: int = 500,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._interval_s = interval_s
        self._batch = batch
        self._pending: list[CallRecord] = []
        self._retry: list[CallRecord] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="request-log-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def add(self, record: CallRecord) -> None:
        if len(self._pending) >= MAX_PENDING:
            log.error("request_log_backlog_full", dropped=1)
            return
        if record.created_at is None:
            record.created_at = utcnow()
        self._pending.append(record)
        if len(self._pending) >= self._batch:
            self._wake.set()

    async def flush(self) -> None:
        retried, fresh = self._retry, self._pending
        self._retry, self._pending = [], []
        if not retried and not fresh:
            return
        try:
            rows = [row_values(record) for record in retried + fresh]
            async with self._sessionmaker() as session:
                await session.execute(insert(_TABLE), rows)  # a Core executemany
                await session.commit()
        except Exception:
            log.exception(
                "request_log_flush_failed", retrying=len(fresh), dropped=len(retried)
            )
            self._retry = fresh

    async def _run(self) -> None:
        while not cancel_requested():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval_s)
            self._wake.clear()
            await self.flush()
