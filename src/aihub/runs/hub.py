"""``RunHub`` (one per process, built in the lifespan) keeps this process's
runs and makes stop work from any process: a stop is published on the event
bus and the process holding the run ends it. Each live run keeps a heartbeat
key (with a TTL) in the shared state store; a sweep marks ``streaming``
messages whose owner is known to be gone ``interrupted`` (reason
``server_restart``) and records their usage.

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
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.tasks import cancel_requested
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events import EventBus, Listener, Message
from aihub.infra.liveness import StateWatch
from aihub.infra.state import KeyValueStore
from aihub.runs.keeper import HEARTBEAT_EVERY_S, TextWriter
from aihub.runs.orphans import recover_orphans
from aihub.runs.spec import HEARTBEAT_TTL_S, RETAIN_S, RunSpec, run_key, thread_key

if TYPE_CHECKING:  # a run refers back to its hub
    from aihub.runs.generation import GenerationRun

log = structlog.get_logger(__name__)

STOP_CHANNEL = "chat.stop"
STOP_WAIT_S = 5.0
SHUTDOWN_WAIT_S = 10.0


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
        if self._tasks:  # runs store their partial text; follow-ups settle
            await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_WAIT_S)
        late = list(self._tasks)
        for task in late:  # nothing is left behind, even past the wait
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
        await self.text_writer.close()
        if self._listener is not None:
            await self._listener.close()

    def launch(self, run: GenerationRun) -> None:
        self._runs[run.message_id] = run
        self.spawn(run.main(), name=f"generation-{run.message_id}")

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run ``work`` (e.g. what follows a run's end, once its client has
        gone) as a task of the hub's: shutdown waits for it like for a run."""
        task = asyncio.create_task(work, name=name)
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
