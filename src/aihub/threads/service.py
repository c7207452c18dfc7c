"""Threads and their messages, nothing generated here.

A conversation is a tree (Message.parent_id); Thread.active_message_id is the
leaf of the branch the user sees. add_message() is the one way a message enters
a thread: it keeps message_count (all branches), last_message_at and the active
leaf right, and leaves the commit to its caller, so the chat core can reuse it.

This module is the only writer of the threads and messages tables: every door
that keeps a conversation (the hub's chat and its runs, seed 004's chats, the
gateway's stored calls and responses, voice turns) calls the functions below.
Those named ``add_*``, ``set_*``, ``end_*``, ``write_*``, ``claim_*`` and
``discard_*`` flush at most: the caller's use case commits (an answer's end and
its usage row go in one transaction). ``find_*`` return None for a row that is
not there (or not the user's); ``get_*`` raise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.categories import service as categories_service
from aihub.core.db import utcnow
from aihub.core.pagination import PageParams
from aihub.threads import repository
from aihub.threads.errors import MessageNotFoundError, ThreadNotFoundError
from aihub.threads.models import BranchTurn, Message, Thread
from aihub.threads.schemas import (
    MessageCreate,
    ThreadCreate,
    ThreadFilters,
    ThreadUpdate,
)
from aihub.users.models import User

log = structlog.get_logger(__name__)

DEFAULT_TITLE = "New thread"
DERIVED_TITLE_CHARS = 60


@dataclass(frozen=True)
class ThreadDetail:
    """A thread with the messages of its active branch, root first."""

    thread: Thread
    messages: Sequence[Message]


async def list_threads(
    session: AsyncSession, *, user: User, page: PageParams, filters: ThreadFilters
) -> Sequence[Thread]:
    return await repository.list_threads(
        session,
        user_id=user.id,
        skip=page.skip,
        limit=page.limit,
        category_id=filters.category_id,
        is_archived=filters.is_archived,
        is_pinned=filters.is_pinned,
        search=filters.search,
    )


async def get_thread(session: AsyncSession, *, user: User, thread_id: int) -> Thread:
    """The caller's thread (category loaded), else ThreadNotFoundError."""
    thread = await repository.get_thread(session, user_id=user.id, thread_id=thread_id)
    if thread is None:
        raise ThreadNotFoundError(thread_id)
    return thread


async def list_active_branch(
    session: AsyncSession, *, thread: Thread
) -> Sequence[Message]:
    """Root to the active leaf; every message by id if no leaf is recorded."""
    if thread.active_message_id is not None:
        branch = await repository.list_branch(
            session, thread_id=thread.id, leaf_id=thread.active_message_id
        )
        if branch:
            return branch
    return await repository.list_messages(session, thread_id=thread.id)


async def branch_turns(
    session: AsyncSession, *, thread: Thread, leaf_id: int
) -> Sequence[BranchTurn]:
    """Root to ``leaf_id`` as the turns a model is sent (see BranchTurn)."""
    return await repository.list_branch_turns(
        session, thread_id=thread.id, leaf_id=leaf_id
    )


async def get_thread_detail(
    session: AsyncSession, *, user: User, thread_id: int
) -> ThreadDetail:
    thread = await get_thread(session, user=user, thread_id=thread_id)
    return ThreadDetail(thread, await list_active_branch(session, thread=thread))


def derive_title(title: str | None, initial_message: str | None) -> str:
    """The given title, else the start of the first message, else a default."""
    if title and title.strip():
        return title.strip()
    words = " ".join((initial_message or "").split())
    if not words:
        return DEFAULT_TITLE
    if len(words) <= DERIVED_TITLE_CHARS:
        return words
    return words[:DERIVED_TITLE_CHARS].rstrip() + "…"


async def create_thread(
    session: AsyncSession, *, user: User, data: ThreadCreate
) -> ThreadDetail:
    """A thread, with the system prompt and the first user message (the
    system message is the user message's parent) stored when given."""
    if data.category_id is not None:
        await _check_category(session, user=user, category_id=data.category_id)
    fields = data.model_dump(exclude={"title", "initial_message"})
    thread = repository.add_thread(
        session,
        user_id=user.id,
        title=derive_title(data.title, data.initial_message),
        last_message_at=utcnow(),
        **fields,
    )
    await session.flush()
    parent_id: int | None = None
    if data.system_prompt:
        system = await add_message(
            session, thread=thread, role="system", content=data.system_prompt
        )
        parent_id = system.id
    if data.initial_message:
        await add_message(
            session,
            thread=thread,
            role="user",
            content=data.initial_message,
            parent_id=parent_id,
        )
    await session.commit()
    log.info("thread_created", thread_id=thread.id, user_id=user.id)
    return await get_thread_detail(session, user=user, thread_id=thread.id)


async def update_thread(
    session: AsyncSession, *, user: User, thread_id: int, data: ThreadUpdate
) -> ThreadDetail:
    thread = await get_thread(session, user=user, thread_id=thread_id)
    changes = data.changes()
    if changes.get("category_id") is not None:
        await _check_category(session, user=user, category_id=changes["category_id"])
    if "title" in changes:
        changes["title"] = changes["title"].strip()
    for name, value in changes.items():
        setattr(thread, name, value)
    await session.commit()
    return await get_thread_detail(session, user=user, thread_id=thread_id)


async def delete_thread(session: AsyncSession, *, user: User, thread_id: int) -> None:
    thread = await get_thread(session, user=user, thread_id=thread_id)
    await repository.delete_thread(session, thread=thread)
    await session.commit()
    log.info("thread_deleted", thread_id=thread_id, user_id=user.id)


async def bulk_delete_threads(
    session: AsyncSession, *, user: User, thread_ids: Sequence[int]
) -> None:
    """Delete the caller's threads among `thread_ids`; other ids are ignored."""
    if not thread_ids:
        return
    deleted = await repository.delete_threads(
        session, user_id=user.id, thread_ids=thread_ids
    )
    await session.commit()
    log.info("threads_deleted", count=deleted, user_id=user.id)


async def bulk_archive_threads(
    session: AsyncSession, *, user: User, thread_ids: Sequence[int]
) -> Sequence[Thread]:
    """Archive the caller's threads among `thread_ids` and return them; other
    ids are ignored."""
    if not thread_ids:
        return []
    await repository.archive_threads(
        session, user_id=user.id, thread_ids=thread_ids, now=utcnow()
    )
    await session.commit()
    return await repository.list_threads_by_ids(
        session, user_id=user.id, thread_ids=thread_ids
    )


async def add_message(
    session: AsyncSession,
    *,
    thread: Thread,
    role: str,
    content: str,
    parent_id: int | None = None,
    tokens: int | None = None,
    model: str | None = None,
    provider: str | None = None,
    meta_data: dict[str, Any] | None = None,
    status: str = "complete",
    content_parts: list[dict[str, Any]] | None = None,
) -> Message:
    """Store a message under `parent_id` (checked by the caller) as the new
    active leaf; counts it and moves last_message_at. Flushes, never commits."""
    now = utcnow()
    message = repository.add_message(
        session,
        thread_id=thread.id,
        parent_id=parent_id,
        role=role,
        content=content,
        content_parts=content_parts,
        tokens=tokens,
        model=model,
        provider=provider,
        status=status,
        meta_data=meta_data or {},
        created_at=now,
        updated_at=now,
    )
    await session.flush()
    await repository.record_message_added(session, thread=thread, message=message)
    return message


async def create_message(
    session: AsyncSession, *, user: User, thread_id: int, data: MessageCreate
) -> Message:
    """POST /api/threads/{id}/messages: store a message, generate nothing. It
    follows the active leaf, or `parent_id` when given (same thread only)."""
    thread = await get_thread(session, user=user, thread_id=thread_id)
    parent_id = thread.active_message_id
    if data.parent_id is not None:
        parent = await repository.get_message(
            session, thread_id=thread.id, message_id=data.parent_id
        )
        if parent is None:
            raise MessageNotFoundError(data.parent_id)
        parent_id = parent.id
    message = await add_message(
        session,
        thread=thread,
        role=data.role,
        content=data.content,
        parent_id=parent_id,
        tokens=data.tokens,
        model=data.model,
        provider=data.provider,
        meta_data=data.meta_data,
    )
    await session.commit()
    return message


async def _check_category(
    session: AsyncSession, *, user: User, category_id: int
) -> None:
    """Raise CategoryNotFoundError (404) unless the category is the caller's."""
    await categories_service.get_category(session, user=user, category_id=category_id)


# -- for the doors that keep conversations (no commit: see the module docstring) --


async def find_thread(
    session: AsyncSession, *, user_id: int, thread_id: int, source: str | None = None
) -> Thread | None:
    """The user's thread (of that source, when given), else None."""
    return await repository.get_thread(
        session, user_id=user_id, thread_id=thread_id, source=source
    )


async def find_message(
    session: AsyncSession, *, thread_id: int, message_id: int
) -> Message | None:
    """A message of the thread (whose owner the caller checked), else None."""
    return await repository.get_message(
        session, thread_id=thread_id, message_id=message_id
    )


async def find_latest_answer(
    session: AsyncSession, *, thread_id: int
) -> Message | None:
    """The thread's newest assistant message, else None."""
    return await repository.get_latest_answer(session, thread_id=thread_id)


async def list_branch(
    session: AsyncSession, *, thread_id: int, leaf_id: int
) -> Sequence[Message]:
    """The leaf and its ancestors within the thread, root first."""
    return await repository.list_branch(session, thread_id=thread_id, leaf_id=leaf_id)


async def add_thread(
    session: AsyncSession,
    *,
    user_id: int,
    title: str,
    source: str,
    provider: str | None = None,
    model: str | None = None,
    system_prompt: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> Thread:
    """A new thread of a door (``source``), flushed so it has its id."""
    thread = repository.add_thread(
        session,
        user_id=user_id,
        title=title,
        source=source,
        provider=provider,
        model=model,
        system_prompt=system_prompt,
        temperature=temperature,
        max_tokens=max_tokens,
        last_message_at=utcnow(),
    )
    await session.flush()
    return thread


def set_thread_model(thread: Thread, *, provider: str, model: str) -> None:
    """The provider and model that answer the thread by default."""
    thread.provider, thread.model = provider, model


def set_system_prompt(thread: Thread, text: str) -> None:
    thread.system_prompt = text


def set_title(thread: Thread, title: str) -> None:
    thread.title = title


def set_message_meta(
    message: Message, *, meta_data: dict[str, Any], tokens: int | None = None
) -> None:
    """Replace a message's meta data (and its token count, when given)."""
    message.meta_data = meta_data
    if tokens is not None:
        message.tokens = tokens


async def discard_threads(
    session: AsyncSession,
    *,
    user_id: int,
    thread_ids: Sequence[int],
    source: str | None = None,
) -> int:
    """Delete the user's threads among ``thread_ids`` (of that source, when
    given); how many went. Their messages go with them."""
    return await repository.delete_threads(
        session, user_id=user_id, thread_ids=thread_ids, source=source
    )


async def list_threads_with_user_counts(
    session: AsyncSession, *, user_id: int, source: str, skip: int, limit: int
) -> Sequence[tuple[Thread, int]]:
    """A door's threads with their user message counts, most recent first."""
    return await repository.list_threads_with_user_counts(
        session, user_id=user_id, source=source, skip=skip, limit=limit
    )


async def find_thread_ids(
    session: AsyncSession,
    *,
    user_id: int,
    source: str,
    created_before: datetime | None = None,
    message_count_below: int | None = None,
    user_message_count_below: int | None = None,
    beyond_newest: int | None = None,
) -> set[int]:
    """Ids of a door's threads matching every filter given, plus those after
    the ``beyond_newest`` newest (by creation). No filter: nothing."""
    found: set[int] = set()
    filters = (created_before, message_count_below, user_message_count_below)
    if any(value is not None for value in filters):
        found |= await repository.list_matching_thread_ids(
            session,
            user_id=user_id,
            source=source,
            created_before=created_before,
            message_count_below=message_count_below,
            user_message_count_below=user_message_count_below,
        )
    if beyond_newest is not None:
        found |= await repository.list_thread_ids_beyond(
            session, user_id=user_id, source=source, keep=beyond_newest
        )
    return found


# -- exchanges written in batches (the gateway's stored responses) ------------------


@dataclass(frozen=True, slots=True)
class NewThread:
    """A thread an exchange opens."""

    title: str
    source: str
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message an exchange adds. Its meta data is serialized when it is
    made (``new_message``): an exchange waiting in a queue holds plain strings,
    not the objects of the request that made it."""

    content: str
    meta_json: str
    status: str = "complete"
    tokens: int | None = None
    model: str | None = None
    provider: str | None = None
    response_id: str | None = None


def new_message(
    content: str,
    *,
    meta_data: dict[str, Any],
    status: str = "complete",
    tokens: int | None = None,
    model: str | None = None,
    provider: str | None = None,
    response_id: str | None = None,
) -> NewMessage:
    meta_json = orjson.dumps(meta_data, option=orjson.OPT_NON_STR_KEYS).decode()
    return NewMessage(content, meta_json, status, tokens, model, provider, response_id)


@dataclass(frozen=True, slots=True)
class NewExchange:
    """A question and its answer (under it), in a new thread (``thread``) or
    in the user's thread ``thread_id`` under ``parent_id`` (checked by the
    caller)."""

    user_id: int
    question: NewMessage
    answer: NewMessage
    thread: NewThread | None = None
    thread_id: int | None = None
    parent_id: int | None = None
    at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if (self.thread is None) == (self.thread_id is None):
            raise ValueError("an exchange opens a thread or continues one, not both")

    @property
    def existing_thread_id(self) -> int:
        if self.thread_id is None:
            raise ValueError("this exchange opens a thread")
        return self.thread_id


@dataclass(frozen=True, slots=True)
class ExchangeIds:
    thread_id: int
    question_id: int
    answer_id: int


def _thread_row(exchange: NewExchange, new: NewThread) -> dict[str, Any]:
    return {
        "user_id": exchange.user_id,
        "title": new.title,
        "source": new.source,
        "provider": new.provider,
        "model": new.model,
        "system_prompt": new.system_prompt,
        "message_count": 0,
        "created_at": exchange.at,
        "updated_at": exchange.at,
        "last_message_at": exchange.at,
    }


def _message_row(
    message: NewMessage,
    *,
    role: str,
    thread_id: int,
    parent_id: int | None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "parent_id": parent_id,
        "role": role,
        "content": message.content,
        "tokens": message.tokens,
        "model": message.model,
        "provider": message.provider,
        "status": message.status,
        "meta_data": message.meta_json,
        "response_id": message.response_id,
        "created_at": at,
        "updated_at": at,
    }


async def add_exchanges(
    session: AsyncSession, exchanges: Sequence[NewExchange]
) -> list[ExchangeIds]:
    """Write many exchanges in four statements (Core executemany: the new
    threads, the questions, the answers, then each thread's count, active leaf
    and last activity, as add_message keeps them); their ids in order. No
    ORM objects; never commits."""
    if not exchanges:
        return []
    rows = [_thread_row(e, e.thread) for e in exchanges if e.thread is not None]
    new_ids = iter(await repository.insert_threads(session, rows=rows) if rows else [])
    thread_ids = [
        next(new_ids) if e.thread is not None else e.existing_thread_id
        for e in exchanges
    ]
    question_ids = await repository.insert_messages(
        session,
        rows=[
            _message_row(
                e.question,
                role="user",
                thread_id=tid,
                parent_id=None if e.thread is not None else e.parent_id,
                at=e.at,
            )
            for e, tid in zip(exchanges, thread_ids, strict=True)
        ],
    )
    answer_ids = await repository.insert_messages(
        session,
        rows=[
            _message_row(
                e.answer, role="assistant", thread_id=tid, parent_id=qid, at=e.at
            )
            for e, tid, qid in zip(exchanges, thread_ids, question_ids, strict=True)
        ],
    )
    added: dict[int, tuple[int, int, datetime]] = {}
    for e, tid, aid in zip(exchanges, thread_ids, answer_ids, strict=True):
        count = added[tid][0] if tid in added else 0
        added[tid] = (count + 2, aid, e.at)  # the latest answer is the leaf
    await repository.count_messages_added(
        session, added=[(tid, *rest) for tid, rest in added.items()]
    )
    return [
        ExchangeIds(tid, qid, aid)
        for tid, qid, aid in zip(thread_ids, question_ids, answer_ids, strict=True)
    ]


async def find_response_answer(
    session: AsyncSession, *, user_id: int, response_id: str
) -> tuple[Message, Thread] | None:
    """The answer that holds a /v1/responses id, with its thread; None when
    there is none or its thread is not the user's."""
    return await repository.get_response_answer(
        session, user_id=user_id, response_id=response_id
    )


# -- answers that stream ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerEnd:
    """How an answer ended, as its message stores it."""

    content: str
    status: str
    meta_data: dict[str, Any]
    tokens: int | None = None
    model: str | None = None
    """Written when given (else the message keeps its own); so is provider."""
    provider: str | None = None
    keep_tokens: bool = False
    """Leave the stored token count as it is (``tokens`` is then ignored)."""


async def end_answer(
    session: AsyncSession,
    *,
    thread_id: int,
    message_id: int,
    end: AnswerEnd,
    only_streaming: bool = False,
    touch_thread: bool = True,
) -> bool:
    """Store an answer's end; True when its row was written. With
    ``only_streaming`` only while it is still ``streaming`` (False: another
    writer, the orphan sweep, ended it first and nothing was written).
    ``touch_thread`` moves the thread's last activity to now."""
    now = utcnow()
    values: dict[str, Any] = {
        "content": end.content,
        "status": end.status,
        "meta_data": end.meta_data,
        "updated_at": now,
    }
    if not end.keep_tokens:
        values["tokens"] = end.tokens
    if end.model is not None:
        values["model"] = end.model
    if end.provider is not None:
        values["provider"] = end.provider
    written = await repository.update_message(
        session, message_id=message_id, values=values, only_streaming=only_streaming
    )
    if written and touch_thread:
        await repository.touch_thread(session, thread_id=thread_id, at=now)
    return written


async def write_streaming_texts(session: AsyncSession, texts: dict[int, str]) -> None:
    """The text so far of answers still ``streaming`` (one statement for all;
    an answer that ended meanwhile keeps its final text)."""
    if texts:
        await repository.update_streaming_texts(session, texts=texts, at=utcnow())


async def list_streaming_answer_ids(
    session: AsyncSession, *, unchanged_since: datetime | None = None
) -> Sequence[int]:
    """Answers still ``streaming`` (and not written since ``unchanged_since``)."""
    return await repository.list_streaming_message_ids(
        session, unchanged_since=unchanged_since
    )


async def claim_orphan(
    session: AsyncSession, *, message_id: int
) -> tuple[Message, int] | None:
    """Mark a ``streaming`` answer ``interrupted``; the message and its
    thread's owner, or None when it was no longer streaming (someone else
    ended it: two sweepers at once claim it once)."""
    claimed = await repository.update_message(
        session,
        message_id=message_id,
        values={"status": "interrupted"},
        only_streaming=True,
    )
    if not claimed:
        return None
    return await repository.get_message_with_owner(session, message_id=message_id)
