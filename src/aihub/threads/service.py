"""Threads and their messages, nothing generated here.

A conversation is a tree (Message.parent_id); Thread.active_message_id is the
leaf of the branch the user sees. add_message() is the one way a message enters
a thread: it keeps message_count (all branches), last_message_at and the active
leaf right, and leaves the commit to its caller, so the chat core can reuse it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
