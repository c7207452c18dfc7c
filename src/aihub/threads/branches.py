"""Branches of a conversation: see the siblings of a message, switch the active
branch, list the whole tree, and fork a path into a new thread.

Regenerating or editing (the chat core) adds a sibling under the same parent
and makes it the active leaf; these functions only read the tree or move
Thread.active_message_id, except fork(), which copies a path.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.db import utcnow
from aihub.threads import repository
from aihub.threads import service as threads_service
from aihub.threads.errors import MessageNotFoundError
from aihub.threads.models import Message, Thread
from aihub.threads.schemas import TITLE_MAX, ThreadFork
from aihub.users.models import User

log = structlog.get_logger(__name__)

FORK_SUFFIX = " (fork)"


@dataclass(frozen=True)
class Siblings:
    """A message's siblings by id, and which of them is on the active branch."""

    message: Message
    siblings: Sequence[Message]
    active_index: int | None


@dataclass(frozen=True)
class ThreadTree:
    thread: Thread
    messages: Sequence[Message]


async def get_message(
    session: AsyncSession, *, thread: Thread, message_id: int
) -> Message:
    """A message of `thread` (already the caller's), else MessageNotFoundError."""
    message = await repository.get_message(
        session, thread_id=thread.id, message_id=message_id
    )
    if message is None:
        raise MessageNotFoundError(message_id)
    return message


async def list_siblings(
    session: AsyncSession, *, user: User, thread_id: int, message_id: int
) -> Siblings:
    thread = await threads_service.get_thread(session, user=user, thread_id=thread_id)
    message = await get_message(session, thread=thread, message_id=message_id)
    siblings = await repository.list_siblings(
        session, thread_id=thread.id, parent_id=message.parent_id
    )
    active_ids: set[int] = set()
    if thread.active_message_id is not None:
        active_ids = await repository.list_branch_ids(
            session, thread_id=thread.id, leaf_id=thread.active_message_id
        )
    active_index = next(
        (i for i, sibling in enumerate(siblings) if sibling.id in active_ids), None
    )
    return Siblings(message, siblings, active_index)


async def activate_message(
    session: AsyncSession, *, user: User, thread_id: int, message_id: int
) -> threads_service.ThreadDetail:
    """Make the branch through `message_id` active: its leaf becomes the newest
    descendant reached by following the most recent child at each step."""
    thread = await threads_service.get_thread(session, user=user, thread_id=thread_id)
    message = await get_message(session, thread=thread, message_id=message_id)
    leaf_id = await repository.get_newest_leaf_id(
        session, thread_id=thread.id, message_id=message.id
    )
    if thread.active_message_id != leaf_id:
        thread.active_message_id = leaf_id
        await session.commit()
    return await threads_service.get_thread_detail(
        session, user=user, thread_id=thread_id
    )


async def get_tree(session: AsyncSession, *, user: User, thread_id: int) -> ThreadTree:
    thread = await threads_service.get_thread(session, user=user, thread_id=thread_id)
    messages = await repository.list_messages(session, thread_id=thread.id)
    return ThreadTree(thread, messages)


def fork_title(title: str | None, source_title: str) -> str:
    """The given title, else "<source title> (fork)" cut to fit the column."""
    if title and title.strip():
        return title.strip()
    return source_title[: TITLE_MAX - len(FORK_SUFFIX)] + FORK_SUFFIX


async def fork_thread(
    session: AsyncSession, *, user: User, thread_id: int, data: ThreadFork
) -> threads_service.ThreadDetail:
    """A new thread of the caller holding copies of the path root..message_id;
    the copy of message_id is its active leaf. Copies keep their created_at."""
    source = await threads_service.get_thread(session, user=user, thread_id=thread_id)
    message = await get_message(session, thread=source, message_id=data.message_id)
    path = await repository.list_branch(
        session, thread_id=source.id, leaf_id=message.id
    )
    now = utcnow()
    fork = repository.add_thread(
        session,
        user_id=user.id,
        title=fork_title(data.title, source.title),
        provider=source.provider,
        model=source.model,
        category_id=source.category_id,
        system_prompt=source.system_prompt,
        max_tokens=source.max_tokens,
        temperature=source.temperature,
        forked_from_message_id=message.id,
        last_message_at=now,
    )
    await session.flush()
    parent_id: int | None = None
    for original in path:
        clone = repository.add_message(
            session,
            thread_id=fork.id,
            parent_id=parent_id,
            role=original.role,
            content=original.content,
            content_parts=copy.deepcopy(original.content_parts),
            tokens=original.tokens,
            model=original.model,
            provider=original.provider,
            status=original.status,
            meta_data=copy.deepcopy(original.meta_data or {}),
            created_at=original.created_at,
            updated_at=now,
        )
        await session.flush()
        parent_id = clone.id
    fork.message_count = len(path)
    fork.active_message_id = parent_id
    await session.commit()
    log.info(
        "thread_forked",
        thread_id=fork.id,
        source_thread_id=source.id,
        message_id=message.id,
        user_id=user.id,
    )
    return await threads_service.get_thread_detail(
        session, user=user, thread_id=fork.id
    )
