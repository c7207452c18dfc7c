"""Queries on the caller's chats: threads with source ``chat``, always filtered
by user_id in SQL. Nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, ScalarSelect, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.threads.models import Message, Thread

CHAT_SOURCE = "chat"


def _user_message_count() -> ScalarSelect[int]:
    return (
        select(func.count(Message.id))
        .where(Message.thread_id == Thread.id, Message.role == "user")
        .correlate(Thread)
        .scalar_subquery()
    )


async def get_chat(
    session: AsyncSession, *, user_id: int, chat_id: int
) -> Thread | None:
    stmt = (
        select(Thread)
        .where(
            Thread.id == chat_id,
            Thread.user_id == user_id,
            Thread.source == CHAT_SOURCE,
        )
        .execution_options(populate_existing=True)
    )
    return await session.scalar(stmt)


async def list_chats(
    session: AsyncSession, *, user_id: int, skip: int, limit: int
) -> Sequence[tuple[Thread, int]]:
    """The chats with their user message counts, most recently active first."""
    stmt = (
        select(Thread, _user_message_count())
        .where(Thread.user_id == user_id, Thread.source == CHAT_SOURCE)
        .order_by(Thread.last_message_at.desc(), Thread.id.desc())
        .offset(skip)
        .limit(limit)
    )
    rows = await session.execute(stmt)
    return [(thread, int(count or 0)) for thread, count in rows.all()]


async def list_matching_chat_ids(
    session: AsyncSession,
    *,
    user_id: int,
    created_before: datetime | None,
    message_count_below: int | None,
    user_message_count_below: int | None,
) -> set[int]:
    """Ids of the chats matching every condition given (at least one)."""
    conditions: list[Any] = [Thread.user_id == user_id, Thread.source == CHAT_SOURCE]
    if created_before is not None:
        conditions.append(Thread.created_at < created_before)
    if message_count_below is not None:
        conditions.append(Thread.message_count < message_count_below)
    if user_message_count_below is not None:
        conditions.append(_user_message_count() < user_message_count_below)
    rows = await session.scalars(select(Thread.id).where(*conditions))
    return set(rows.all())


async def list_chat_ids_beyond(
    session: AsyncSession, *, user_id: int, keep: int
) -> set[int]:
    """Ids of the chats after the ``keep`` newest (by creation)."""
    stmt = (
        select(Thread.id)
        .where(Thread.user_id == user_id, Thread.source == CHAT_SOURCE)
        .order_by(Thread.created_at.desc(), Thread.id.desc())
        .offset(keep)
    )
    rows = await session.scalars(stmt)
    return set(rows.all())


async def delete_chats(
    session: AsyncSession, *, user_id: int, chat_ids: Sequence[int]
) -> int:
    """Messages go with them (ON DELETE CASCADE)."""
    if not chat_ids:
        return 0
    stmt = delete(Thread).where(
        Thread.user_id == user_id,
        Thread.source == CHAT_SOURCE,
        Thread.id.in_(set(chat_ids)),
    )
    result = cast("CursorResult[Any]", await session.execute(stmt))
    return int(result.rowcount or 0)
