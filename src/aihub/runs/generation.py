"""One generation that outlives its HTTP request: run, persist, stop.

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
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from aihub.calls.client import LlmCall, Target
from aihub.calls.errors import as_hub_error
from aihub.calls.stream_errors import error_data
from aihub.catalog.tokens import count_tokens
from aihub.core.errors import AihubError
from aihub.providers.base import CompletionBuilder, ProviderError, TextDelta, Usage
from aihub.runs.errors import GenerationTimeoutError
from aihub.runs.keeper import AnswerKeeper
from aihub.runs.spec import (
    REASON_STATUS,
    STORE_RETRY_PAUSES_S,
    Frame,
    RunResult,
    RunSpec,
    usage_block,
)
from aihub.threads import service as threads_service
from aihub.usage.recording import CallRecord, add_record, cost_of

if TYPE_CHECKING:  # the hub launches runs
    from aihub.runs.hub import RunHub

log = structlog.get_logger(__name__)


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
            "tokens": usage_block(usage),
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
                "usage": usage_block(usage),
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
        end = threads_service.AnswerEnd(
            content=text,
            status=status,
            meta_data=meta,
            tokens=usage.completion_tokens if usage is not None else None,
            model=target.model,
            provider=target.provider,
        )
        thread_id, message_id = self.spec.thread_id, self.message_id
        async with self.hub.sessionmaker() as session:
            if await threads_service.end_answer(
                session,
                thread_id=thread_id,
                message_id=message_id,
                end=end,
                only_streaming=True,
            ):
                add_record(session, record)
            else:
                # A sweep took it for orphaned and recorded its usage: the text
                # and status are still ours to store, the usage row is not.
                log.warning("generation_already_accounted", message_id=message_id)
                meta["usage_recorded_by_sweep"] = True
                await threads_service.end_answer(
                    session,
                    thread_id=thread_id,
                    message_id=message_id,
                    end=dataclasses.replace(end, keep_tokens=True),
                )
            await session.commit()
