"""Stored /v1/responses answers are hub threads.

A response is one exchange of a thread: a user message holding the call's
input items (``meta_data.response_input``) and an assistant message holding
the response object (``meta_data.response``), with the answer's text, tokens
and cost like any gateway answer. ``previous_response_id`` continues the same
thread under that answer, so a chain is one branch of one thread, shown in
/api/threads and the web app.

A response's id is random (``resp_`` + 48 hex digits), made before anything is
written and kept in the answer's ``response_id``; ids of responses stored
before (``resp_<thread hex>_<message hex>_<token>``) are still read that way.
A response whose thread is not the caller's is a 404 like a missing one.

A finished (non-streamed) response is queued on the ResponsesWriter and
written behind the request; every read of a response id (retrieve, its input
items, delete, cancel, ``previous_response_id``) first waits for that id's
write when it is queued in this process, and a well-formed id not found is
looked up once more after the writer's interval (it may be queued in another
process) before it is a 404.

A streamed response starts differently: its question and a ``streaming``
answer are committed (through the writer, which writes them at once) before
the upstream call, and while it streams the hub's AnswerKeeper writes its
growing text and renews its heartbeat, so a crash leaves it for the orphan
sweep.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.calls.client import Target
from aihub.core.errors import NotFoundError
from aihub.gateway.responses_writer import ResponsesWriter
from aihub.runs.hub import RunHub
from aihub.runs.keeper import AnswerKeeper
from aihub.runs.spec import RunSpec
from aihub.threads import service as threads_service
from aihub.threads.models import Message, Thread
from aihub.usage.recording import cost_of

log = structlog.get_logger(__name__)

_OLD_ID = re.compile(r"^resp_([0-9a-f]{1,12})_([0-9a-f]{1,12})_([0-9a-f]{16})$")
_ID = re.compile(r"^resp_[0-9a-f]{48}$")


def new_response_id() -> str:
    """A stored response's id (as long as OpenAI's), known before it is written."""
    return f"resp_{secrets.token_hex(24)}"


# A response's status as its answer's message status.
_STATUSES = {
    "completed": "complete",
    "incomplete": "complete",
    "failed": "error",
    "cancelled": "stopped",
}


def output_text_of(response: dict[str, Any]) -> str:
    return "".join(
        str(part.get("text") or "")
        for item in response.get("output") or ()
        if item.get("type") == "message"
        for part in item.get("content") or ()
    )


class ResponseNotFoundError(NotFoundError):
    def __init__(self, response_id: str) -> None:
        super().__init__(f"Response with id '{response_id}' not found.")


def _parse_old_id(response_id: str) -> tuple[int, int, str]:
    match = _OLD_ID.match(response_id)
    if match is None:
        raise ResponseNotFoundError(response_id)
    return int(match[1], 16), int(match[2], 16), match[3]


@dataclass(slots=True)
class Found:
    id: str
    thread: Thread
    answer: Message
    question: Message | None

    @property
    def response(self) -> dict[str, Any]:
        """The stored object (an answer still streaming: its opening snapshot)."""
        stored: dict[str, Any] = dict(self.answer.meta_data.get("response") or {})
        stored["id"] = self.id
        if self.answer.status == "interrupted" and stored.get("status") in (
            "in_progress",
            None,
        ):
            stored["status"] = "incomplete"
            stored["incomplete_details"] = {"reason": "interrupted"}
        return stored

    @property
    def input_items(self) -> list[dict[str, Any]]:
        if self.question is None:
            return []
        return list(self.question.meta_data.get("response_input") or [])


async def _find(session: AsyncSession, *, user_id: int, response_id: str) -> Found:
    if _ID.match(response_id):
        found = await threads_service.find_response_answer(
            session, user_id=user_id, response_id=response_id
        )
        if found is None:
            raise ResponseNotFoundError(response_id)
        answer, thread = found
    else:
        thread, answer = await _find_old(
            session, user_id=user_id, response_id=response_id
        )
    if answer.meta_data.get("response_deleted"):
        raise ResponseNotFoundError(response_id)
    question = None
    if answer.parent_id is not None:
        question = await threads_service.find_message(
            session, thread_id=thread.id, message_id=answer.parent_id
        )
    return Found(response_id, thread, answer, question)


async def _find_old(
    session: AsyncSession, *, user_id: int, response_id: str
) -> tuple[Thread, Message]:
    """A response stored with an id naming its thread and answer."""
    thread_id, message_id, token = _parse_old_id(response_id)
    if thread_id >= 2**31 or message_id >= 2**31:
        raise ResponseNotFoundError(response_id)
    thread = await threads_service.find_thread(
        session, user_id=user_id, thread_id=thread_id
    )
    if thread is None:
        raise ResponseNotFoundError(response_id)
    answer = await threads_service.find_message(
        session, thread_id=thread.id, message_id=message_id
    )
    if answer is None or answer.meta_data.get("response_token") != token:
        raise ResponseNotFoundError(response_id)
    return thread, answer


async def _lookup(
    writer: ResponsesWriter,
    session: AsyncSession,
    *,
    user_id: int,
    response_id: str,
) -> Found:
    """``_find`` after the id's write when it is queued here; a well-formed
    id not found is looked up once more after the writer's interval (another
    process may have it queued)."""
    if await writer.settle(response_id, user_id=user_id) or not _ID.match(response_id):
        return await _find(session, user_id=user_id, response_id=response_id)
    try:
        return await _find(session, user_id=user_id, response_id=response_id)
    except ResponseNotFoundError:
        await session.rollback()  # a fresh snapshot for the second look
        await asyncio.sleep(writer.recheck_after_s)
        return await _find(session, user_id=user_id, response_id=response_id)


async def find(writer: ResponsesWriter, *, user_id: int, response_id: str) -> Found:
    async with writer.sessionmaker() as session:
        return await _lookup(writer, session, user_id=user_id, response_id=response_id)


async def history(
    writer: ResponsesWriter, *, user_id: int, response_id: str
) -> tuple[Found, list[dict[str, Any]]]:
    """The response and every item of its chain, oldest first: each turn's
    input items, then its output items (reasoning items left out)."""
    async with writer.sessionmaker() as session:
        found = await _lookup(writer, session, user_id=user_id, response_id=response_id)
        branch = await threads_service.list_branch(
            session, thread_id=found.thread.id, leaf_id=found.answer.id
        )
    items: list[dict[str, Any]] = []
    for message in branch:
        meta = message.meta_data or {}
        if "response_input" in meta:
            items.extend(meta["response_input"])
        elif isinstance(meta.get("response"), dict):
            output = meta["response"].get("output") or []
            items.extend(i for i in output if i.get("type") != "reasoning")
        elif message.role in ("user", "assistant") and message.content:
            # a turn written in the hub itself, continued through the API
            items.append(
                {"type": "message", "role": message.role, "content": message.content}
            )
    return found, items


def _summary(items: list[dict[str, Any]]) -> str:
    """The question's text as the hub shows it."""
    lines: list[str] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            content = item.get("content")
            if isinstance(content, str):
                lines.append(content)
            else:
                lines.append("".join(str(p.get("text") or "") for p in content or ()))
        elif kind == "function_call_output":
            lines.append(f"[{item.get('call_id')}] {item.get('output')}")
    return "\n\n".join(line for line in lines if line)


class StoredResponse:
    """One stored response from its start (an in-progress answer in the
    thread) to its end (``finish``)."""

    def __init__(
        self, hub: RunHub, spec: RunSpec, response_id: str, source: Callable[[], str]
    ) -> None:
        self.hub = hub
        self.spec = spec
        self.id = response_id
        self.keeper = AnswerKeeper(hub, spec, source)
        self._finished = False

    @property
    def thread_id(self) -> int:
        return self.spec.thread_id

    async def finish(self, response: dict[str, Any], *, text: str, usage: Any) -> None:
        """Store the final response object once, whatever way the call ended."""
        if self._finished:
            return
        self._finished = True
        await self.keeper.stop()
        try:
            await asyncio.shield(self._store(response, text, usage))
        except Exception:  # the caller already has its answer or its error
            log.exception("responses_store_failed", response_id=self.id)
        await self.hub.release(self.spec)

    async def _store(self, response: dict[str, Any], text: str, usage: Any) -> None:
        target = self.spec.target
        meta, tokens = _answer_meta(response, usage, target)
        end = threads_service.AnswerEnd(
            content=text,
            status=_STATUSES.get(str(response.get("status")), "interrupted"),
            meta_data=meta,
            tokens=tokens,
        )
        async with self.hub.sessionmaker() as session:
            await threads_service.end_answer(  # nothing when the thread is gone
                session,
                thread_id=self.spec.thread_id,
                message_id=self.spec.assistant_message_id,
                end=end,
                touch_thread=False,
            )
            await session.commit()


def _exchange(
    *,
    user_id: int,
    target: Target,
    items: list[dict[str, Any]],
    instructions: str | None,
    previous: Found | None,
    answer: threads_service.NewMessage,
) -> threads_service.NewExchange:
    """The question (and ``answer``) in the previous response's thread under
    its answer, or in a new thread (source ``gateway``)."""
    question_text = _summary(items)
    question = threads_service.new_message(
        question_text, meta_data={"source": "gateway", "response_input": items}
    )
    if previous is not None:
        return threads_service.NewExchange(
            user_id=user_id,
            question=question,
            answer=answer,
            thread_id=previous.thread.id,
            parent_id=previous.answer.id,
        )
    return threads_service.NewExchange(
        user_id=user_id,
        question=question,
        answer=answer,
        thread=threads_service.NewThread(
            title=threads_service.derive_title(None, question_text),
            source="gateway",
            provider=target.provider,
            model=target.model,
            system_prompt=instructions,
        ),
    )


def _answer_meta(
    response: dict[str, Any], usage: Any, target: Target, cost: float | None = None
) -> tuple[dict[str, Any], int | None]:
    meta: dict[str, Any] = {"source": "gateway", "response": response}
    tokens = None
    if usage is not None:
        tokens = usage.completion_tokens
        meta["tokens"] = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
        if cost is None:
            cost = cost_of(target.provider, target.model, usage)
        meta["cost"] = cost
    return meta, tokens


def queue_complete(
    writer: ResponsesWriter,
    *,
    user_id: int,
    target: Target,
    items: list[dict[str, Any]],
    instructions: str | None,
    previous: Found | None,
    response: dict[str, Any],
    usage: Any,
    cost: float | None = None,
) -> None:
    """A finished (non-streamed) response, queued to be written behind the
    request under its id (``response["id"]``, already random); ``cost``: the
    usage's, when the caller has it already."""
    response_id = str(response["id"])
    meta, tokens = _answer_meta(response, usage, target, cost)
    answer = threads_service.new_message(
        output_text_of(response),
        meta_data=meta,
        status=_STATUSES.get(str(response.get("status")), "interrupted"),
        tokens=tokens,
        model=target.model,
        provider=target.provider,
        response_id=response_id,
    )
    exchange = _exchange(
        user_id=user_id,
        target=target,
        items=items,
        instructions=instructions,
        previous=previous,
        answer=answer,
    )
    writer.add(exchange, response_id=response_id)


async def begin(
    hub: RunHub,
    writer: ResponsesWriter,
    *,
    user_id: int,
    target: Target,
    items: list[dict[str, Any]],
    instructions: str | None,
    previous: Found | None,
    source: Callable[[], str],
    snapshot: dict[str, Any],
) -> StoredResponse:
    """The question and an in-progress answer, committed before a streamed
    call (the writer writes them at once, with whatever else is queued, and
    this waits for the commit), in the previous response's thread under its
    answer, or in a new thread. Its id is the snapshot's (``response.created``
    carries it)."""
    response_id = str(snapshot["id"])
    answer = threads_service.new_message(
        "",
        meta_data={"source": "gateway", "response": snapshot},
        status="streaming",
        model=target.model,
        provider=target.provider,
        response_id=response_id,
    )
    exchange = _exchange(
        user_id=user_id,
        target=target,
        items=items,
        instructions=instructions,
        previous=previous,
        answer=answer,
    )
    ids = await writer.write(exchange, response_id=response_id)
    spec = RunSpec(
        user_id=user_id,
        thread_id=ids.thread_id,
        user_message_id=ids.question_id,
        assistant_message_id=ids.answer_id,
        target=target,
        prompt_tokens=0,
        with_context=True,
        timeout_s=0,
        kind="gateway",
        stoppable=False,
    )
    stored = StoredResponse(hub, spec, response_id, source)
    stored.keeper.start()
    return stored


async def delete(writer: ResponsesWriter, *, user_id: int, response_id: str) -> None:
    """A thread that holds only this response goes with it; otherwise the
    response object is removed and the thread's text kept (later responses of
    the chain still continue from it)."""
    async with writer.sessionmaker() as session:
        found = await _lookup(writer, session, user_id=user_id, response_id=response_id)
        if found.thread.message_count <= 2 and found.question is not None:
            await threads_service.discard_threads(
                session, user_id=user_id, thread_ids=[found.thread.id]
            )
        else:
            meta = dict(found.answer.meta_data)
            meta["response_deleted"] = True
            threads_service.set_message_meta(found.answer, meta_data=meta)
        await session.commit()
