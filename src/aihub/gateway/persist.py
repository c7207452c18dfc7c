"""Optional persistence of /v1 conversations as aihub threads.

A /v1/chat/completions request with ``"store": true`` (the field is not passed
on) or an ``X-Aihub-Thread`` header is saved: with the header's thread id, the
request's last user message and the answer are appended to that thread (the
caller's own, else 404 before any upstream call); with ``store`` alone a new
thread (source ``gateway``) gets the whole conversation. The response carries
``X-Aihub-Thread: <id>``. Nothing of this touches requests that ask for neither.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from aihub.calls.client import Target
from aihub.core.errors import AihubError, BadRequestError
from aihub.gateway.caller import Caller
from aihub.runs.hub import RunHub
from aihub.runs.keeper import AnswerKeeper
from aihub.runs.spec import RunSpec
from aihub.runtime import runtime_of
from aihub.threads import service as threads_service
from aihub.threads.errors import ThreadNotFoundError
from aihub.threads.models import Thread
from aihub.usage.recording import cost_of

log = structlog.get_logger(__name__)

THREAD_HEADER = "x-aihub-thread"


class StoreRequest:
    """One stored /v1 call: the question is in the thread and the answer
    exists (status ``streaming``) before the upstream call; the text is written
    while it grows (the hub's ``AnswerKeeper``: same flush interval, same
    heartbeat, so a crash leaves it for the orphan sweep to mark
    ``interrupted``); ``finish`` stores the end."""

    def __init__(self, hub: RunHub, spec: RunSpec) -> None:
        self.hub = hub
        self.spec = spec
        self.collected = StreamText()
        self._source: Callable[[], str] = lambda: self.collected.text
        self.keeper = AnswerKeeper(hub, spec, lambda: self._source())
        self._finished = False

    @property
    def thread_id(self) -> int:
        return self.spec.thread_id

    @property
    def message_id(self) -> int:
        return self.spec.assistant_message_id

    def feed(self, chunk: bytes) -> None:
        """Raw OpenAI SSE bytes of the answer."""
        before = len(self.collected.parts)
        self.collected.feed(chunk)
        if len(self.collected.parts) != before:
            self.keeper.touch()

    def follow(self, source: Callable[[], str]) -> None:
        """Take the text from ``source`` instead (a translated stream)."""
        self._source = source

    async def finish(
        self,
        *,
        status: str,
        usage: Any,
        text: str | None = None,
        error: AihubError | None = None,
    ) -> None:
        """Store the answer's end once (``complete``, ``interrupted``, ``error``)."""
        if self._finished:
            return
        self._finished = True
        await self.keeper.stop()
        answer = self._source() if text is None else text
        try:
            await asyncio.shield(self._store(status, answer, usage, error))
        except Exception:  # the caller already has its answer or its error
            log.exception("gateway_store_failed", message_id=self.message_id)
        await self.hub.release(self.spec)

    async def _store(
        self, status: str, answer: str, usage: Any, error: AihubError | None
    ) -> None:
        target = self.spec.target
        meta: dict[str, Any] = {"source": "gateway"}
        tokens = None
        if usage is not None:
            tokens = usage.completion_tokens
            meta["tokens"] = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
            meta["cost"] = cost_of(target.provider, target.model, usage)
        if error is not None:
            meta["error"] = {
                "error_type": error.error_type,
                "error_message": error.message,
            }
        end = threads_service.AnswerEnd(
            content=answer, status=status, meta_data=meta, tokens=tokens
        )
        async with self.hub.sessionmaker() as session:
            await threads_service.end_answer(
                session, thread_id=self.thread_id, message_id=self.message_id, end=end
            )
            await session.commit()


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        )
    return ""


async def store_request(
    request: Request, caller: Caller, data: dict[str, Any], target: Target
) -> StoreRequest | None:
    """What to save, or None. The thread is known (the header's, which must be
    the caller's) or made now, so its id can go out with the response headers;
    the question and an empty answer (``streaming``) are committed before the
    upstream call. The caller pops ``store`` from the body."""
    store = bool(data.get("store"))
    header = request.headers.get(THREAD_HEADER)
    if not store and not header:
        return None
    raw = data.get("messages")
    messages = [m for m in raw if isinstance(m, dict)] if isinstance(raw, list) else []
    runtime = runtime_of(request)
    async with runtime.sessionmaker() as session:
        if header:
            if not header.isdigit() or not 0 < int(header) < 2**31:
                raise BadRequestError(f"{THREAD_HEADER} must be a thread id")
            thread = await threads_service.find_thread(
                session, user_id=caller.user_id, thread_id=int(header)
            )
            if thread is None:
                raise ThreadNotFoundError(int(header))
            turns, fresh = _last_user(messages), False
        else:
            thread = await _new_thread(session, caller, messages, target)
            turns, fresh = messages, True
        question_id, answer_id = await _add_exchange(
            session, thread, turns, target, fresh=fresh
        )
        await session.commit()
    spec = RunSpec(
        user_id=caller.user_id,
        thread_id=thread.id,
        user_message_id=question_id,
        assistant_message_id=answer_id,
        target=target,
        prompt_tokens=0,
        with_context=True,
        timeout_s=0,
        kind="gateway",
        stoppable=False,
    )
    stored = StoreRequest(runtime.runs, spec)
    stored.keeper.start()
    return stored


async def _add_exchange(
    session: AsyncSession,
    thread: Thread,
    turns: list[dict[str, Any]],
    target: Target,
    *,
    fresh: bool,
) -> tuple[int, int]:
    """The turns after the thread's active leaf (a fresh thread's system turn
    is its system prompt), then the empty answer: the ids of the last turn
    and of the answer."""
    parent = thread.active_message_id
    for turn in turns:
        role = str(turn.get("role") or "user")
        if role not in ("system", "user", "assistant"):
            continue
        if role == "system" and fresh:
            threads_service.set_system_prompt(thread, _text(turn.get("content")))
        message = await threads_service.add_message(
            session,
            thread=thread,
            role=role,
            content=_text(turn.get("content")),
            parent_id=parent,
        )
        parent = message.id
    answer = await threads_service.add_message(
        session,
        thread=thread,
        role="assistant",
        content="",
        parent_id=parent,
        model=target.model,
        provider=target.provider,
        status="streaming",
        meta_data={"source": "gateway"},
    )
    return parent or answer.id, answer.id


def answer_of_body(body: bytes) -> str:
    """The first choice's text of a chat.completion body."""
    try:
        data = orjson.loads(body)
        return str(data["choices"][0]["message"].get("content") or "")
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError):
        return ""


class StreamText:
    """Collects the first choice's content deltas of an OpenAI SSE stream."""

    __slots__ = ("_buffer", "parts")

    def __init__(self) -> None:
        self._buffer = b""
        self.parts: list[str] = []

    def feed(self, chunk: bytes) -> None:
        data = self._buffer + chunk
        lines = data.split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            if not line.startswith(b"data:") or b'"content"' not in line:
                continue
            try:
                event = orjson.loads(line[5:])
                delta = event["choices"][0]["delta"]
            except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
                continue
            text = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(text, str):
                self.parts.append(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _last_user(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for turn in reversed(messages):
        if turn.get("role") == "user":
            return [turn]
    return []


async def _new_thread(
    session: Any, caller: Caller, messages: list[dict[str, Any]], target: Target
) -> Thread:
    first_user = next(
        (_text(t.get("content")) for t in messages if t.get("role") == "user"), ""
    )
    return await threads_service.add_thread(
        session,
        user_id=caller.user_id,
        title=threads_service.derive_title(None, first_user),
        provider=target.provider,
        model=target.model,
        source="gateway",
    )
