"""Generations that outlive their HTTP request: run, persist, stop, recover.

A ``GenerationRun`` streams one assistant answer in a task of its own, so that
neither a slow client nor a vanished one decides what is stored:

- the assistant message exists (status ``streaming``) before the first upstream
  byte; its text is written every ``flush_interval_s`` while it grows;
- it ends ``complete``, ``stopped`` (a user's stop), ``interrupted`` (client gone,
  timeout, shutdown) or ``error`` (the provider failed); the partial text, the
  reason and the usage (the provider's, else counted here) are stored with it and
  one row goes to the request log;
- whoever listens reads frames (``start``, ``delta``, ``error``, ``done``) from
  ``frames(after=...)``: the run keeps its frame log in memory while it runs
  (and ``RETAIN_S`` after), so any number of listeners attach at any time,
  replay what they missed and follow the live tail; nobody listening changes
  nothing (a client that hangs up does not stop the run; its timeout still
  applies).

``RunHub`` (``app.state.chat_runs``) keeps this process's runs and makes stop
work from any process: a stop is published on the event bus and the process
holding the run ends it. Each live run keeps a heartbeat key (with a TTL) in the
shared state store; a sweep marks ``streaming`` messages whose owner is known to
be gone ``interrupted`` (reason ``server_restart``) and records their usage.

"Known to be gone" (``sweep_once``): not one of this process's runs, no
heartbeat key, its text unchanged for a TTL, AND the state store readable with
its data for at least a TTL without a break (``StateWatch``), so that after a
Redis outage or restart owners get a full TTL to publish again (they do at
once when the sweeper sees Redis back). While Redis does not answer, sweeps do
nothing. Usage is written once per call: whoever moves the message out of
``streaming`` (the run's end or the sweep, a conditional UPDATE) writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.calls.stream_errors import error_data
from aihub.catalog.tokens import acount_tokens, count_tokens
from aihub.chat.errors import GenerationTimeoutError, as_hub_error
from aihub.chat.keeper import HEARTBEAT_EVERY_S, AnswerKeeper, TextWriter
from aihub.chat.llm import LlmCall, Target
from aihub.core.db import utcnow
from aihub.core.errors import AihubError
from aihub.core.tasks import cancel_requested
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events import EventBus, Listener, Message
from aihub.infra.liveness import StateWatch
from aihub.infra.state import KeyValueStore
from aihub.providers.base import (
    CompletionBuilder,
    ProviderError,
    TextDelta,
    Usage,
)
from aihub.threads.models import Message as ChatMessage
from aihub.threads.models import Thread
from aihub.usage.recording import CallRecord, add_record, cost_of

log = structlog.get_logger(__name__)

STOP_CHANNEL = "chat.stop"
HEARTBEAT_TTL_S = 30.0
STOP_WAIT_S = 5.0
SHUTDOWN_WAIT_S = 10.0
RETAIN_S = 60.0
"""How long a finished run's frames stay replayable in its process."""

Frame = tuple[str, dict[str, Any]]

# Why a run did not complete -> the status its message keeps.
REASON_STATUS = {
    "stopped_by_user": "stopped",
    "client_disconnected": "interrupted",
    "timeout": "interrupted",
    "shutdown": "interrupted",
    "server_restart": "interrupted",
    "upstream_error": "error",
    "internal_error": "error",
}


def run_key(message_id: int) -> str:
    return f"chat:run:{message_id}"


def thread_key(thread_id: int) -> str:
    return f"chat:thread:{thread_id}"


# Pauses between tries of an answer's final write (then it is logged as lost
# to the database; the sweep marks the answer interrupted with its stored text).
STORE_RETRY_PAUSES_S = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(slots=True)
class RunSpec:
    user_id: int
    thread_id: int
    user_message_id: int
    assistant_message_id: int
    target: Target
    prompt_tokens: int
    with_context: bool
    timeout_s: float
    kind: str = "chat"
    question: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    """Kept in the answer's meta_data (what the context held)."""
    extra_start: dict[str, Any] = field(default_factory=dict)
    stoppable: bool = True
    """A hub generation: stop requests for its thread find it."""


@dataclass(slots=True)
class RunResult:
    status: str
    reason: str | None
    error: AihubError | None
    usage: Usage | None
    cost: float
    text: str


def _usage_block(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage(reported=False)
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens
        or usage.prompt_tokens + usage.completion_tokens,
    }


class GenerationRun:
    def __init__(self, hub: RunHub, spec: RunSpec, call: LlmCall) -> None:
        self.hub = hub
        self.spec = spec
        self.call = call
        self.result: RunResult | None = None
        self.finished = asyncio.Event()
        self._log: list[Frame] = []
        self._closed = False
        self._grown = asyncio.Event()
        self._builder = CompletionBuilder(spec.target.model)
        self._stop_reason: str | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._keeper = AnswerKeeper(hub, spec, lambda: self._builder.text)
        self._started = time.monotonic()

    # -- control ----------------------------------------------------------------

    @property
    def message_id(self) -> int:
        return self.spec.assistant_message_id

    def stop(self, reason: str = "stopped_by_user") -> None:
        """End the generation now (idempotent); the partial text is kept."""
        if self._stop_reason is None and not self.finished.is_set():
            self._stop_reason = reason
            if self._consumer is not None:
                self._consumer.cancel()

    async def frames(self, after: int = 0) -> AsyncIterator[Frame]:
        """The frames after the first ``after`` ones, then the live tail
        until ``done``. Frame ``n`` (1-based) has SSE id ``n``."""
        async for _, frame in self.numbered_frames(after):
            yield frame

    async def numbered_frames(self, after: int = 0) -> AsyncIterator[tuple[int, Frame]]:
        position = max(after, 0)
        while True:
            grown = self._grown
            while position < len(self._log):
                position += 1
                yield position, self._log[position - 1]
            if self._closed:
                return
            await grown.wait()

    async def wait(self) -> RunResult:
        await self.finished.wait()
        if self.result is None:
            raise RuntimeError("a finished run always has a result")
        return self.result

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        self._log.append((event, data))
        self._wake()

    def _wake(self) -> None:
        grown, self._grown = self._grown, asyncio.Event()
        grown.set()

    # -- the run ------------------------------------------------------------------

    async def main(self) -> None:
        spec = self.spec
        self._emit(
            "start",
            {
                "thread_id": spec.thread_id,
                "user_message_id": spec.user_message_id,
                "assistant_message_id": spec.assistant_message_id,
                "model": spec.target.model,
                "provider": spec.target.provider,
                **spec.extra_start,
            },
        )
        self._keeper.start()
        self._consumer = asyncio.create_task(self._consume())
        if self._stop_reason is not None:  # stopped before it began
            self._consumer.cancel()
        status, reason = "complete", None
        error: AihubError | None = None
        try:
            await self._consumer
        except asyncio.CancelledError:
            reason = self._stop_reason or "shutdown"
            self._stop_reason = reason
            self._consumer.cancel()
        except TimeoutError:
            reason = "timeout"
            error = GenerationTimeoutError(
                f"Generation took longer than {spec.timeout_s:g} s"
            )
        except (ProviderError, AihubError) as exc:
            reason, error = "upstream_error", as_hub_error(exc)
        except Exception as exc:  # a bug must not leave the message streaming
            log.exception("generation_failed", message_id=self.message_id)
            reason, error = "internal_error", as_hub_error(exc)
        if reason is not None:
            status = REASON_STATUS[reason]
        await self._keeper.stop()
        await self._finish(status, reason, error)

    async def _consume(self) -> None:
        async with asyncio.timeout(self.spec.timeout_s):
            async for event in self.call.events():
                self._builder.add(event)
                if isinstance(event, TextDelta) and event.text:
                    self._keeper.touch()
                    self._emit("delta", {"content": event.text})

    def _final_usage(self, text: str, status: str) -> Usage | None:
        """The provider's usage; else, once a key took the call and something
        came back (or it completed), a local count."""
        reported = self._builder.usage
        if reported is not None:
            return reported
        if self.call.key_id is None or (not text and status != "complete"):
            return None
        target = self.spec.target
        completion, _ = count_tokens(target.provider, target.model, text)
        prompt = self.spec.prompt_tokens
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            reported=False,
        )

    async def _finish(
        self, status: str, reason: str | None, error: AihubError | None
    ) -> None:
        spec = self.spec
        text = self._builder.text
        target = self.call.target
        usage = await asyncio.to_thread(self._final_usage, text, status)
        cost = cost_of(target.provider, target.model, usage)
        latency_ms = int((time.monotonic() - self._started) * 1000)
        meta: dict[str, Any] = {
            **spec.meta,
            "tokens": _usage_block(usage),
            "cost": cost,
            "with_context": spec.with_context,
            "usage_reported": usage.reported if usage is not None else False,
            "latency_ms": latency_ms,
            "ttft_ms": self.call.ttft_ms,
        }
        if status == "complete":
            meta["finish_reason"] = self._builder.finish_reason
        if reason is not None:
            meta["reason"] = reason
        if error is not None:
            meta["error"] = {
                "error_type": error.error_type,
                "error_message": error.message,
            }
        record = CallRecord(
            user_id=spec.user_id,
            kind=spec.kind,
            provider=target.provider,
            model=target.model,
            usage=usage,
            provider_key_id=self.call.key_id,
            thread_id=spec.thread_id,
            message_id=self.message_id,
            latency_ms=latency_ms,
            ttft_ms=self.call.ttft_ms,
            status="ok" if status == "complete" else status,
            error_type=error.error_type if error is not None else None,
            question=spec.question,
        )
        await self._store_retrying(status, text, usage, target, meta, record)
        await self.hub.forget(self)
        self.result = RunResult(status, reason, error, usage, cost, text)
        log.info(
            "generation_finished",
            thread_id=spec.thread_id,
            message_id=self.message_id,
            status=status,
            reason=reason,
            provider=target.provider,
            model=target.model,
            chars=len(text),
        )
        if error is not None:
            self._emit("error", error_data("hub", error.error_type, error.message))
        self._emit(
            "done",
            {
                "thread_id": spec.thread_id,
                "assistant_message_id": self.message_id,
                "status": status,
                "reason": reason,
                "usage": _usage_block(usage),
                "cost": cost,
                "latency_ms": latency_ms,
            },
        )
        self._closed = True
        self._wake()
        self.finished.set()

    async def _store_retrying(
        self,
        status: str,
        text: str,
        usage: Usage | None,
        target: Target,
        meta: dict[str, Any],
        record: CallRecord,
    ) -> None:
        """The final write, tried again when the database was busy or away for a
        moment (SQLite's "database is locked" under hundreds of streams, a pool
        timeout): one failed try must not leave a finished answer `streaming`
        with only its last flushed text. Each try is one transaction (rolled back
        on failure) and its UPDATE is conditional, so trying again is safe."""
        for attempt, pause in enumerate((*STORE_RETRY_PAUSES_S, None)):
            try:
                await asyncio.shield(
                    self._store(status, text, usage, target, meta, record)
                )
                return
            except (DBAPIError, PoolTimeoutError) as exc:
                if pause is None:
                    log.exception("generation_store_failed", message_id=self.message_id)
                    return
                log.warning(
                    "generation_store_retry",
                    message_id=self.message_id,
                    attempt=attempt + 1,
                    error=type(exc).__name__,
                )
                await asyncio.sleep(pause)
            except Exception:
                log.exception("generation_store_failed", message_id=self.message_id)
                return

    async def _store(
        self,
        status: str,
        text: str,
        usage: Usage | None,
        target: Target,
        meta: dict[str, Any],
        record: CallRecord,
    ) -> None:
        now = utcnow()
        values = {
            "content": text,
            "status": status,
            "tokens": usage.completion_tokens if usage is not None else None,
            "model": target.model,
            "provider": target.provider,
            "meta_data": meta,
            "updated_at": now,
        }
        async with self.hub.sessionmaker() as session:
            ended = await session.execute(
                update(ChatMessage)
                .where(
                    ChatMessage.id == self.message_id,
                    ChatMessage.status == "streaming",
                )
                .values(**values)
            )
            if getattr(ended, "rowcount", 0) == 1:
                add_record(session, record)
            else:
                # A sweep took it for orphaned and recorded its usage: the text
                # and status are still ours to store, the usage row is not.
                log.warning("generation_already_accounted", message_id=self.message_id)
                meta["usage_recorded_by_sweep"] = True
                await session.execute(
                    update(ChatMessage)
                    .where(ChatMessage.id == self.message_id)
                    .values(**{k: v for k, v in values.items() if k != "tokens"})
                )
            await session.execute(
                update(Thread)
                .where(Thread.id == self.spec.thread_id)
                .values(last_message_at=now, updated_at=now)
            )
            await session.commit()


class RunHub:
    """This process's runs, and stop requests from every process."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        events: EventBus,
        state: KeyValueStore,
        flush_interval_s: float = 0.5,
        sweep_every_s: float | None = None,
        heartbeat_ttl_s: float = HEARTBEAT_TTL_S,
        heartbeat_every_s: float = HEARTBEAT_EVERY_S,
        start_slots: int = 5,
    ) -> None:
        """``sweep_every_s`` set: every process shares the state store (Redis),
        so heartbeats are checked periodically; None: this process is the only
        one, and everything ``streaming`` at start is an orphan."""
        self.sessionmaker = sessionmaker
        self._sweep_every_s = sweep_every_s
        self._sweeper: asyncio.Task[None] | None = None
        self.flush_interval_s = flush_interval_s
        self.text_writer = TextWriter(sessionmaker, flush_interval_s)
        self.start_slots = asyncio.Semaphore(start_slots)
        """Answers being started at once (see chat.service._start_slot)."""
        self.heartbeat_ttl_s = heartbeat_ttl_s
        self.heartbeat_every_s = heartbeat_every_s
        self._events = events
        self._state = state
        self._watch = StateWatch(state, shared=sweep_every_s is not None)
        self._beats_failing = False
        self._runs: dict[int, GenerationRun] = {}
        self._recent: dict[int, tuple[float, GenerationRun]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._listener: Listener | None = None

    async def start(self) -> None:
        """Listen for stops; sweep up orphans now and, when every process shares
        the state store, every ``sweep_every_s``."""
        self._listener = await self._events.listen(STOP_CHANNEL, self._on_stop)
        self.text_writer.start()
        if self._sweep_every_s:
            with contextlib.suppress(BackendUnavailableError):
                await self.sweep_once()
            self._sweeper = asyncio.create_task(self._sweep(self._sweep_every_s))
        else:
            await recover_orphans(self.sessionmaker, self._state)

    async def _sweep(self, every_s: float) -> None:
        while not cancel_requested():
            await asyncio.sleep(every_s)
            try:
                await self.sweep_once()
            except Exception:  # the sweeper must outlive one bad round
                log.exception("generation_sweep_failed")

    async def sweep_once(self) -> int:
        """One round; the number of messages marked interrupted. Does nothing
        while the state store is away or has been back for less than a TTL."""
        was_down = not self._watch.reachable
        healthy_for = await self._watch.check()
        if healthy_for is None:
            return 0
        if was_down or self._beats_failing:
            await self._beat_all()  # owners publish again at once on reconnect
        if healthy_for < self.heartbeat_ttl_s:
            return 0
        return await recover_orphans(
            self.sessionmaker,
            self._state,
            quiet_for_s=self.heartbeat_ttl_s,
            skip=set(self._runs),
        )

    async def _beat_all(self) -> None:
        for run in list(self._runs.values()):
            if not await self.heartbeat(run.spec):
                return

    async def close(self) -> None:
        """Shutdown: every run ends ``interrupted`` with its text stored."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for run in list(self._runs.values()):
            run.stop("shutdown")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_WAIT_S)
        await self.text_writer.close()
        if self._listener is not None:
            await self._listener.close()

    def launch(self, run: GenerationRun) -> None:
        self._runs[run.message_id] = run
        task = asyncio.create_task(run.main(), name=f"generation-{run.message_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def get(self, message_id: int) -> GenerationRun | None:
        return self._runs.get(message_id)

    def find(self, message_id: int) -> GenerationRun | None:
        """A run of this process whose frames can be replayed: running, or
        finished less than ``RETAIN_S`` ago."""
        self._prune()
        run = self._runs.get(message_id)
        if run is None and message_id in self._recent:
            run = self._recent[message_id][1]
        return run

    def _prune(self) -> None:
        """Let go of finished runs older than RETAIN_S."""
        now = time.monotonic()
        for message_id, (ended, _) in list(self._recent.items()):
            if now - ended > RETAIN_S:
                del self._recent[message_id]

    async def heartbeat(self, spec: RunSpec) -> bool:
        """Publish that this run is alive; False when the store is away (logged
        once per outage, not once per run and beat)."""
        value = {"thread_id": spec.thread_id, "user_id": spec.user_id}
        try:
            await self._state.set_json(
                run_key(spec.assistant_message_id), value, ttl_s=self.heartbeat_ttl_s
            )
            if spec.stoppable:
                await self._state.set_json(
                    thread_key(spec.thread_id),
                    spec.assistant_message_id,
                    ttl_s=self.heartbeat_ttl_s,
                )
        except BackendUnavailableError:
            if not self._beats_failing:
                log.warning("generation_heartbeats_failing", thread_id=spec.thread_id)
            self._beats_failing = True
            return False
        if self._beats_failing:
            log.info("generation_heartbeats_restored")
            self._beats_failing = False
        return True

    async def forget(self, run: GenerationRun) -> None:
        self._runs.pop(run.message_id, None)
        self._prune()
        self._recent[run.message_id] = (time.monotonic(), run)
        await self.release(run.spec)

    async def release(self, spec: RunSpec) -> None:
        """Drop the heartbeat of an answer that has ended (its status stored)."""
        message_id = spec.assistant_message_id
        with contextlib.suppress(BackendUnavailableError):
            await self._state.delete(run_key(message_id))
            if await self._state.get_json(thread_key(spec.thread_id)) == message_id:
                await self._state.delete(thread_key(spec.thread_id))

    async def request_stop(
        self, *, user_id: int, thread_id: int, message_id: int | None
    ) -> bool:
        """Stop the thread's running generation (that message's, when given),
        wherever it runs; True once it has ended and its text is stored."""
        if message_id is None:
            found = await self._state.get_json(thread_key(thread_id))
            message_id = found if isinstance(found, int) else None
        if message_id is None:
            return False
        running = await self._state.get_json(run_key(message_id))
        local = self._runs.get(message_id)
        if local is None and not (
            isinstance(running, dict)
            and running.get("thread_id") == thread_id
            and running.get("user_id") == user_id
        ):
            return False
        if local is not None:
            if local.spec.thread_id != thread_id or local.spec.user_id != user_id:
                return False
            local.stop()
            await asyncio.wait_for(local.finished.wait(), STOP_WAIT_S)
            return True
        await self._events.publish(
            STOP_CHANNEL,
            {"thread_id": thread_id, "message_id": message_id, "user_id": user_id},
        )
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:
            if await self._state.get_json(run_key(message_id)) is None:
                return True
            await asyncio.sleep(0.05)
        return True

    def _on_stop(self, _channel: str, message: Message) -> None:
        run = self._runs.get(message.get("message_id"))  # type: ignore[arg-type]
        if (
            run is not None
            and run.spec.thread_id == message.get("thread_id")
            and run.spec.user_id == message.get("user_id")
        ):
            run.stop()


async def recover_orphans(
    sessionmaker: async_sessionmaker[AsyncSession],
    state: KeyValueStore,
    *,
    quiet_for_s: float = 0.0,
    skip: set[int] | None = None,
) -> int:
    """Mark ``streaming`` messages of dead processes ``interrupted`` (reason
    server_restart), recording the usage of their partial text. Only messages
    unchanged for ``quiet_for_s``, not in ``skip`` (this process's own runs),
    without a heartbeat key. A message is claimed with a conditional UPDATE, so
    two processes sweeping at once record it once. A state store error stops
    the round (raised): a heartbeat that cannot be read is not a missing one."""
    query = select(ChatMessage.id).where(ChatMessage.status == "streaming")
    if quiet_for_s > 0:
        cutoff = utcnow() - timedelta(seconds=quiet_for_s)
        query = query.where(ChatMessage.updated_at < cutoff)
    async with sessionmaker() as session:
        candidates = (await session.execute(query)).scalars().all()
    orphans = []
    for message_id in candidates:
        if skip and message_id in skip:
            continue
        if await state.get_json(run_key(message_id)) is None:
            orphans.append(message_id)
    recovered = 0
    for message_id in orphans:
        if await _recover(sessionmaker, message_id):
            recovered += 1
    if recovered:
        log.warning("generations_interrupted_by_restart", count=recovered)
    return recovered


async def _recover(
    sessionmaker: async_sessionmaker[AsyncSession], message_id: int
) -> bool:
    async with sessionmaker() as session:
        claimed = await session.execute(
            update(ChatMessage)
            .where(ChatMessage.id == message_id, ChatMessage.status == "streaming")
            .values(status="interrupted")
        )
        if getattr(claimed, "rowcount", 0) != 1:
            await session.rollback()
            return False
        row = (
            await session.execute(
                select(ChatMessage, Thread.user_id)
                .join(Thread, Thread.id == ChatMessage.thread_id)
                .where(ChatMessage.id == message_id)
            )
        ).one()
        message, user_id = row
        meta = dict(message.meta_data or {})
        provider, model = message.provider or "", message.model or ""
        completion, _ = await acount_tokens(provider, model, message.content or "")
        prompt = int(meta.get("prompt_tokens_estimate") or 0)
        usage = Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            reported=False,
        )
        meta.update(
            tokens=_usage_block(usage),
            cost=cost_of(provider, model, usage),
            usage_reported=False,
            reason="server_restart",
        )
        message.meta_data = meta
        message.tokens = completion
        add_record(
            session,
            CallRecord(
                user_id=user_id,
                kind="gateway" if meta.get("source") == "gateway" else "chat",
                provider=provider,
                model=model,
                usage=usage,
                thread_id=message.thread_id,
                message_id=message.id,
                status="interrupted",
            ),
        )
        await session.commit()
    return True
