"""Stored /v1/responses answers are hub threads.

A response is one exchange of a thread: a user message holding the call's
input items (``meta_data.response_input``) and an assistant message holding
the response object (``meta_data.response``), with the answer's text, tokens
and cost like any gateway answer. ``previous_response_id`` continues the same
thread under that answer, so a chain is one branch of one thread, shown in
/api/threads and the web app. The id names the thread and the answer and
carries a random part that must match the stored one:
``resp_<thread hex>_<message hex>_<token>``; a thread that is not the caller's
is a 404 like a missing one.

While an answer streams, the hub's AnswerKeeper writes its growing text and
renews its heartbeat, so a crash leaves it for the orphan sweep.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.calls.client import Target
from aihub.core.errors import NotFoundError
from aihub.runs.hub import RunHub
from aihub.runs.keeper import AnswerKeeper
from aihub.runs.spec import RunSpec
from aihub.threads import service as threads_service
from aihub.threads.models import Message, Thread
from aihub.usage.recording import cost_of

log = structlog.get_logger(__name__)

_ID = re.compile(r"^resp_([0-9a-f]{1,12})_([0-9a-f]{1,12})_([0-9a-f]{16})$")


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


def _parse_id(response_id: str) -> tuple[int, int, str]:
    match = _ID.match(response_id)
    if match is None:
        raise ResponseNotFoundError(response_id)
    return int(match[1], 16), int(match[2], 16), match[3]


def _make_id(thread_id: int, message_id: int, token: str) -> str:
    return f"resp_{thread_id:x}_{message_id:x}_{token}"


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
    thread_id, message_id, token = _parse_id(response_id)
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
    meta = answer.meta_data if answer is not None else {}
    if (
        answer is None
        or meta.get("response_token") != token
        or meta.get("response_deleted")
    ):
        raise ResponseNotFoundError(response_id)
    question = None
    if answer.parent_id is not None:
        question = await threads_service.find_message(
            session, thread_id=thread.id, message_id=answer.parent_id
        )
    return Found(response_id, thread, answer, question)


async def find(
    sessionmaker: async_sessionmaker[AsyncSession], *, user_id: int, response_id: str
) -> Found:
    async with sessionmaker() as session:
        return await _find(session, user_id=user_id, response_id=response_id)


async def history(
    sessionmaker: async_sessionmaker[AsyncSession], *, user_id: int, response_id: str
) -> tuple[Found, list[dict[str, Any]]]:
    """The response and every item of its chain, oldest first: each turn's
    input items, then its output items (reasoning items left out)."""
    async with sessionmaker() as session:
        found = await _find(session, user_id=user_id, response_id=response_id)
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
        self,
        hub: RunHub,
        spec: RunSpec,
        token: str,
        source: Callable[[], str],
    ) -> None:
        self.hub = hub
        self.spec = spec
        self.token = token
        self.keeper = AnswerKeeper(hub, spec, source)
        self._finished = False

    @property
    def id(self) -> str:
        return _make_id(self.spec.thread_id, self.spec.assistant_message_id, self.token)

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
        meta, tokens = _answer_meta(self.token, response, usage, target)
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


async def _exchange(
    session: AsyncSession,
    *,
    user_id: int,
    target: Target,
    items: list[dict[str, Any]],
    instructions: str | None,
    previous: Found | None,
) -> tuple[Thread, Message]:
    """The thread (the previous response's, or a new one, source ``gateway``)
    and the question under the previous answer, flushed."""
    question_text = _summary(items)
    if previous is not None:
        thread = await threads_service.find_thread(
            session, user_id=user_id, thread_id=previous.thread.id
        )
        if thread is None:
            raise ResponseNotFoundError(str(previous.response.get("id")))
        parent: int | None = previous.answer.id
    else:
        thread = await threads_service.add_thread(
            session,
            user_id=user_id,
            title=threads_service.derive_title(None, question_text),
            provider=target.provider,
            model=target.model,
            source="gateway",
            system_prompt=instructions,
        )
        parent = None
    question = await threads_service.add_message(
        session,
        thread=thread,
        role="user",
        content=question_text,
        parent_id=parent,
        meta_data={"source": "gateway", "response_input": items},
    )
    return thread, question


def _answer_meta(
    token: str, response: dict[str, Any], usage: Any, target: Target
) -> tuple[dict[str, Any], int | None]:
    meta: dict[str, Any] = {
        "source": "gateway",
        "response_token": token,
        "response": response,
    }
    tokens = None
    if usage is not None:
        tokens = usage.completion_tokens
        meta["tokens"] = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
        meta["cost"] = cost_of(target.provider, target.model, usage)
    return meta, tokens


async def store_complete(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    user_id: int,
    target: Target,
    items: list[dict[str, Any]],
    instructions: str | None,
    previous: Found | None,
    response: dict[str, Any],
    usage: Any,
) -> tuple[str, int]:
    """A finished (non-streamed) response in one transaction: the question and
    the answer; sets ``response["id"]`` and returns it with the thread's id."""
    token = secrets.token_hex(8)
    async with sessionmaker() as session:
        thread, question = await _exchange(
            session,
            user_id=user_id,
            target=target,
            items=items,
            instructions=instructions,
            previous=previous,
        )
        answer = await threads_service.add_message(
            session,
            thread=thread,
            role="assistant",
            content=output_text_of(response),
            parent_id=question.id,
            model=target.model,
            provider=target.provider,
            status=_STATUSES.get(str(response.get("status")), "interrupted"),
        )
        response["id"] = _make_id(thread.id, answer.id, token)
        meta, tokens = _answer_meta(token, response, usage, target)
        threads_service.set_message_meta(answer, meta_data=meta, tokens=tokens)
        thread_id = thread.id
        await session.commit()
    return response["id"], thread_id


async def begin(
    hub: RunHub,
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
    call (its id goes out in ``response.created``), in the previous response's
    thread under its answer, or in a new thread."""
    token = secrets.token_hex(8)
    async with hub.sessionmaker() as session:
        thread, question = await _exchange(
            session,
            user_id=user_id,
            target=target,
            items=items,
            instructions=instructions,
            previous=previous,
        )
        answer = await threads_service.add_message(
            session,
            thread=thread,
            role="assistant",
            content="",
            parent_id=question.id,
            model=target.model,
            provider=target.provider,
            status="streaming",
            meta_data={
                "source": "gateway",
                "response_token": token,
                "response": snapshot,
            },
        )
        await session.commit()
        spec = RunSpec(
            user_id=user_id,
            thread_id=thread.id,
            user_message_id=question.id,
            assistant_message_id=answer.id,
            target=target,
            prompt_tokens=0,
            with_context=True,
            timeout_s=0,
            kind="gateway",
            stoppable=False,
        )
    stored = StoredResponse(hub, spec, token, source)
    stored.keeper.start()
    return stored


async def delete(
    sessionmaker: async_sessionmaker[AsyncSession], *, user_id: int, response_id: str
) -> None:
    """A thread that holds only this response goes with it; otherwise the
    response object is removed and the thread's text kept (later responses of
    the chain still continue from it)."""
    async with sessionmaker() as session:
        found = await _find(session, user_id=user_id, response_id=response_id)
        if found.thread.message_count <= 2 and found.question is not None:
            await threads_service.discard_threads(
                session, user_id=user_id, thread_ids=[found.thread.id]
            )
        else:
            meta = dict(found.answer.meta_data)
            meta["response_deleted"] = True
            threads_service.set_message_meta(found.answer, meta_data=meta)
        await session.commit()
