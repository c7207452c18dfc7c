"""Stored /v1/responses exchanges written behind the request, in batches.

``writer.add(exchange)`` costs a dict insert and a list append: the response
goes out at once and a background task writes the exchange (a thread when it
opens one, the question, the answer) through ``threads_service.add_exchanges``,
one executemany per table for the whole batch and one commit.

Batches are a group commit with a floor between them: an exchange queued
while the writer is idle (its last batch ended over ``interval_s`` ago) is
written at once; exchanges queued while a batch is written, or within
``interval_s`` after it, go in the next batch, which starts ``interval_s``
after the last one ended (``AIHUB_RESPONSES_FLUSH_INTERVAL_S``, default 0.1 s),
at once when it is full (``batch``, 512) or when someone waits for an exchange
in it. Why the floor: a batch costs about 1.6 ms of CPU whatever its size (a
session, four statements and a commit, each a round trip to aiosqlite's
thread), so the cost per exchange falls with the batch (measured on SQLite: 1
exchange 1.65 ms, 10 0.35 ms, 50 0.12 ms, 100 0.09 ms, 256 0.07 ms). With one
core saturated (the bench: ~1,700 calls/s, 32 clients) batches fill up either
way, since a batch's own round trips wait behind the requests (median 400
exchanges at interval 0, 512 at 0.1 s; the same CPU per call within the
noise); below saturation a pure group commit (interval 0) would write a
handful of exchanges every few milliseconds, at 0.3-0.5 ms each by the figures
above, where 0.1 s gathers tens. The client waits for none of it: a reader
of a queued response (GET, input_items, DELETE, cancel,
``previous_response_id``) and a stream starting ask for the batch at once
(``settle`` / ``write``), so the interval only bounds how long another
process, or the hub's own thread list, may not see a stored response yet.

A failed batch is logged (the database's message, never the parameters, which
hold prompt text) and retried once exchange by exchange, so one bad exchange
(its thread deleted meanwhile) does not take the others with it; what still
fails is logged and counted on /metrics
(``aihub_responses_store_failures_total``). Shutdown writes everything queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

import structlog
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.tasks import cancel_requested
from aihub.threads import service as threads_service
from aihub.threads.service import ExchangeIds, NewExchange

log = structlog.get_logger(__name__)

MAX_PENDING = 100_000
BATCH = 512
RECHECK_MARGIN_S = 0.1
RECHECK_MAX_S = 1.0


class ResponseNotWrittenError(RuntimeError):
    """The exchange could not be stored (logged and counted)."""


@dataclass(slots=True, eq=False)
class _Item:
    exchange: NewExchange
    response_id: str | None
    done: asyncio.Future[ExchangeIds | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ResponsesWriter:
    """This process's queue of stored exchanges and the task that writes it."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval_s: float = 0.1,
        batch: int = BATCH,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.interval_s = interval_s
        self._batch = batch
        self._queue: list[_Item] = []
        self._pending: dict[str, _Item] = {}
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._closing = False
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._failures = Counter(
            "aihub_responses_store_failures",
            "Stored /v1/responses writes that failed: a batch (then retried "
            "exchange by exchange) or an exchange (lost)",
            ["what"],
            registry=registry,
        )

    @property
    def recheck_after_s(self) -> float:
        """How long an exchange stays queued in another process, as a rule
        (its interval and a write): a response id not found is looked up once
        more after that. At most 1.1 s, so that a long interval does not make
        every unknown id that slow to answer."""
        return min(self.interval_s, RECHECK_MAX_S) + RECHECK_MARGIN_S

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="responses-writer")

    async def close(self) -> None:
        """Write everything queued, then stop."""
        self._closing = True
        self._wake.set()
        self._urgent.set()
        if self._task is not None:
            await self._task
            self._task = None
        while self._queue:  # never started, or added to after the loop ended
            await self._write_batch()
        self._closed = True

    def add(self, exchange: NewExchange, *, response_id: str | None = None) -> None:
        """Queue an exchange; ``response_id`` (its answer's) makes it findable
        by ``settle`` until it is written. A full backlog (the database away
        for long) drops it, logged and counted: the caller has its answer."""
        with contextlib.suppress(ResponseNotWrittenError):
            self._queue_item(exchange, response_id)

    async def write(
        self, exchange: NewExchange, *, response_id: str | None = None
    ) -> ExchangeIds:
        """Queue an exchange and wait until it is committed (in the next batch,
        at once); its ids. ResponseNotWrittenError when it could not be."""
        item = self._queue_item(exchange, response_id)
        self._urgent.set()
        ids = await asyncio.shield(item.done)
        if ids is None:
            raise ResponseNotWrittenError(response_id or "exchange")
        return ids

    async def settle(self, response_id: str, *, user_id: int) -> bool:
        """If that response of that user is queued here, have it written now
        and wait for it; False when it was not queued here (another user's
        queued response is not waited for)."""
        item = self._pending.get(response_id)
        if item is None or item.exchange.user_id != user_id:
            return False
        self._urgent.set()
        await asyncio.shield(item.done)
        return True

    def _queue_item(self, exchange: NewExchange, response_id: str | None) -> _Item:
        if len(self._queue) >= MAX_PENDING or self._closed:
            self._failures.labels("exchange").inc()
            log.error("responses_not_queued", closed=self._closed, dropped=1)
            raise ResponseNotWrittenError(response_id or "exchange")
        item = _Item(exchange, response_id)
        self._queue.append(item)
        if response_id is not None:
            self._pending[response_id] = item
        self._wake.set()
        if len(self._queue) >= self._batch:
            self._urgent.set()
        return item

    async def _run(self) -> None:
        """One batch at a time: at once when the last one ended more than
        ``interval_s`` ago (an idle writer), else when that much has passed
        since, when someone waits for a queued exchange, or when a batch is
        full."""
        loop = asyncio.get_running_loop()
        last = float("-inf")
        while not cancel_requested():
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = last + self.interval_s - loop.time()
            if delay > 0 and len(self._queue) < self._batch and not self._closing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._urgent.wait()
            self._urgent.clear()
            await self._write_batch()
            last = loop.time()

    async def _write_batch(self) -> None:
        batch = self._queue[: self._batch]
        del self._queue[: self._batch]
        try:
            ids: list[ExchangeIds | None] = list(await self._store(batch))
        except Exception as exc:  # one bad exchange must not lose the others
            self._failures.labels("batch").inc()
            _log_failure("responses_batch_failed", exc, exchanges=len(batch))
            ids = [await self._store_one(item) for item in batch]
        for item, got in zip(batch, ids, strict=True):
            if item.response_id is not None:
                self._pending.pop(item.response_id, None)
            if not item.done.done():
                item.done.set_result(got)

    async def _store(self, batch: list[_Item]) -> list[ExchangeIds]:
        async with self.sessionmaker() as session:
            ids = await threads_service.add_exchanges(
                session, [item.exchange for item in batch]
            )
            await session.commit()
        return ids

    async def _store_one(self, item: _Item) -> ExchangeIds | None:
        try:
            return (await self._store([item]))[0]
        except Exception as exc:  # logged and counted: the caller has its answer
            self._failures.labels("exchange").inc()
            _log_failure(
                "responses_exchange_lost",
                exc,
                response_id=item.response_id,
                user_id=item.exchange.user_id,
                thread_id=item.exchange.thread_id,
            )
            return None


def _log_failure(event: str, exc: Exception, **data: object) -> None:
    """The database's own message only: a statement error's text would carry
    its parameters (prompt and answer text)."""
    if isinstance(exc, StatementError):
        log.error(event, error=type(exc).__name__, detail=str(exc.orig), **data)
    else:
        log.error(event, error=type(exc).__name__, exc_info=exc, **data)
