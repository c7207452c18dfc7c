"""Every query on threads and messages. Threads are always filtered by user_id
in SQL; nothing here commits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    CursorResult,
    DateTime,
    Insert,
    ScalarSelect,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeDecorator

from aihub.core.db import UTCDateTime
from aihub.threads.models import BranchTurn, Message, Thread

_LIKE_ESCAPE = "\\"


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, LIKE wildcards in `text` taken literally."""
    escaped = (
        text.lower()
        .replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return func.lower(column).like(f"%{escaped}%", escape=_LIKE_ESCAPE)


def _search_clause(search: str) -> ColumnElement[bool]:
    """The title matches, or any message of the thread does (EXISTS: no
    duplicate rows however many messages match)."""
    message_matches = (
        select(Message.id)
        .where(Message.thread_id == Thread.id, _contains(Message.content, search))
        .exists()
    )
    return _contains(Thread.title, search) | message_matches


def _ordered(stmt: Select[Thread]) -> Select[Thread]:
    """Pinned first, then the most recently active."""
    return stmt.order_by(
        Thread.is_pinned.desc(), Thread.last_message_at.desc(), Thread.id.desc()
    )


async def list_threads(
    session: AsyncSession,
    *,
    user_id: int,
    skip: int,
    limit: int,
    category_id: int | None = None,
    is_archived: bool | None = None,
    is_pinned: bool | None = None,
    search: str | None = None,
) -> Sequence[Thread]:
    stmt = select(Thread).where(Thread.user_id == user_id)
    if category_id is not None:
        stmt = stmt.where(Thread.category_id == category_id)
    if is_archived is not None:
        stmt = stmt.where(Thread.is_archived == is_archived)
    if is_pinned is not None:
        stmt = stmt.where(Thread.is_pinned == is_pinned)
    if search:
        stmt = stmt.where(_search_clause(search))
    stmt = _ordered(stmt).offset(skip).limit(limit)
    rows = await session.scalars(stmt.options(selectinload(Thread.category)))
    return rows.all()


async def get_thread(
    session: AsyncSession, *, user_id: int, thread_id: int, source: str | None = None
) -> Thread | None:
    stmt = (
        select(Thread)
        .where(Thread.id == thread_id, Thread.user_id == user_id)
        .options(selectinload(Thread.category))
        .execution_options(populate_existing=True)
    )
    if source is not None:
        stmt = stmt.where(Thread.source == source)
    return await session.scalar(stmt)


async def list_threads_by_ids(
    session: AsyncSession, *, user_id: int, thread_ids: Sequence[int]
) -> Sequence[Thread]:
    stmt = select(Thread).where(
        Thread.user_id == user_id, Thread.id.in_(set(thread_ids))
    )
    stmt = _ordered(stmt).options(selectinload(Thread.category))
    rows = await session.scalars(stmt.execution_options(populate_existing=True))
    return rows.all()


def add_thread(session: AsyncSession, *, user_id: int, **values: Any) -> Thread:
    thread = Thread(user_id=user_id, message_count=0, **values)
    session.add(thread)
    return thread


async def delete_thread(session: AsyncSession, *, thread: Thread) -> None:
    """Messages go with it (ON DELETE CASCADE)."""
    await session.execute(delete(Thread).where(Thread.id == thread.id))


async def delete_threads(
    session: AsyncSession,
    *,
    user_id: int,
    thread_ids: Sequence[int],
    source: str | None = None,
) -> int:
    """Messages go with them (ON DELETE CASCADE)."""
    if not thread_ids:
        return 0
    stmt = delete(Thread).where(
        Thread.user_id == user_id, Thread.id.in_(set(thread_ids))
    )
    if source is not None:
        stmt = stmt.where(Thread.source == source)
    result = cast("CursorResult[Any]", await session.execute(stmt))
    return int(result.rowcount or 0)


def _user_message_count() -> ScalarSelect[int]:
    return (
        select(func.count(Message.id))
        .where(Message.thread_id == Thread.id, Message.role == "user")
        .correlate(Thread)
        .scalar_subquery()
    )


async def list_threads_with_user_counts(
    session: AsyncSession, *, user_id: int, source: str, skip: int, limit: int
) -> Sequence[tuple[Thread, int]]:
    """The source's threads with their user message counts, most recently
    active first."""
    stmt = (
        select(Thread, _user_message_count())
        .where(Thread.user_id == user_id, Thread.source == source)
        .order_by(Thread.last_message_at.desc(), Thread.id.desc())
        .offset(skip)
        .limit(limit)
    )
    rows = await session.execute(stmt)
    return [(thread, int(count or 0)) for thread, count in rows.all()]


async def list_matching_thread_ids(
    session: AsyncSession,
    *,
    user_id: int,
    source: str,
    created_before: datetime | None,
    message_count_below: int | None,
    user_message_count_below: int | None,
) -> set[int]:
    """Ids of the source's threads matching every condition given."""
    conditions: list[Any] = [Thread.user_id == user_id, Thread.source == source]
    if created_before is not None:
        conditions.append(Thread.created_at < created_before)
    if message_count_below is not None:
        conditions.append(Thread.message_count < message_count_below)
    if user_message_count_below is not None:
        conditions.append(_user_message_count() < user_message_count_below)
    rows = await session.scalars(select(Thread.id).where(*conditions))
    return set(rows.all())


async def list_thread_ids_beyond(
    session: AsyncSession, *, user_id: int, source: str, keep: int
) -> set[int]:
    """Ids of the source's threads after the ``keep`` newest (by creation)."""
    stmt = (
        select(Thread.id)
        .where(Thread.user_id == user_id, Thread.source == source)
        .order_by(Thread.created_at.desc(), Thread.id.desc())
        .offset(keep)
    )
    rows = await session.scalars(stmt)
    return set(rows.all())


async def archive_threads(
    session: AsyncSession, *, user_id: int, thread_ids: Sequence[int], now: datetime
) -> None:
    stmt = (
        update(Thread)
        .where(Thread.user_id == user_id, Thread.id.in_(set(thread_ids)))
        .values(is_archived=True, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def get_message(
    session: AsyncSession, *, thread_id: int, message_id: int
) -> Message | None:
    stmt = select(Message).where(
        Message.id == message_id, Message.thread_id == thread_id
    )
    return await session.scalar(stmt)


async def get_latest_answer(session: AsyncSession, *, thread_id: int) -> Message | None:
    stmt = (
        select(Message)
        .where(Message.thread_id == thread_id, Message.role == "assistant")
        .order_by(Message.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


def add_message(session: AsyncSession, **values: Any) -> Message:
    message = Message(**values)
    session.add(message)
    return message


async def record_message_added(
    session: AsyncSession, *, thread: Thread, message: Message
) -> None:
    """Count the message (atomically in SQL, safe against a concurrent writer),
    make it the active leaf and the thread's last activity."""
    stmt = (
        update(Thread)
        .where(Thread.id == thread.id)
        .values(
            message_count=Thread.message_count + 1,
            last_message_at=message.created_at,
            active_message_id=message.id,
            updated_at=message.created_at,
        )
        .returning(Thread.message_count)
        .execution_options(synchronize_session=False)
    )
    count = await session.scalar(stmt)
    # Mirror the row on the loaded object without marking it dirty.
    set_committed_value(thread, "message_count", int(count or 0))
    set_committed_value(thread, "last_message_at", message.created_at)
    set_committed_value(thread, "active_message_id", message.id)
    set_committed_value(thread, "updated_at", message.created_at)


def _ancestors(thread_id: int, leaf_id: int, name: str) -> Any:
    """The leaf and its ancestors (id, parent_id, thread_id), a recursive CTE.

    The recursive step joins on the primary key only: with the thread's id in
    the join too, PostgreSQL reads every message of the thread at every step
    (O(n^2): 140 ms for 500 messages); rows of another thread are filtered out
    by the callers instead (a parent is always in its child's thread anyway).
    A parent is always older than its child, so `id < child id` bounds the walk.
    """
    branch = (
        select(Message.id, Message.parent_id, Message.thread_id)
        .where(Message.id == leaf_id, Message.thread_id == thread_id)
        .cte(name, recursive=True)
    )
    child = branch.alias("child")
    parent = aliased(Message, name="parent")
    return branch.union_all(
        select(parent.id, parent.parent_id, parent.thread_id).join(
            child,
            (parent.id == child.c.parent_id)
            & (parent.id < child.c.id)
            & (child.c.thread_id == thread_id),
        )
    )


async def list_branch(
    session: AsyncSession, *, thread_id: int, leaf_id: int
) -> Sequence[Message]:
    """The leaf and its ancestors within the thread, root first."""
    branch = _ancestors(thread_id, leaf_id, "branch")
    stmt = (
        select(Message)
        .where(
            Message.id.in_(select(branch.c.id)),
            Message.thread_id == thread_id,
        )
        .order_by(Message.id)
    )
    rows = await session.scalars(stmt)
    return rows.all()


async def list_branch_turns(
    session: AsyncSession, *, thread_id: int, leaf_id: int
) -> Sequence[BranchTurn]:
    """What a model is sent of the leaf's branch (root first): four columns
    per message, no ORM objects (a quarter of the cost on a 500-message
    thread, paid at every send)."""
    branch = _ancestors(thread_id, leaf_id, "turns")
    stmt = (
        select(Message.id, Message.role, Message.content, Message.content_parts)
        .where(
            Message.id.in_(select(branch.c.id)),
            Message.thread_id == thread_id,
        )
        .order_by(Message.id)
    )
    rows = await session.execute(stmt)
    return [BranchTurn(*row) for row in rows]


async def list_messages(session: AsyncSession, *, thread_id: int) -> Sequence[Message]:
    stmt = select(Message).where(Message.thread_id == thread_id).order_by(Message.id)
    rows = await session.scalars(stmt)
    return rows.all()


async def list_branch_ids(
    session: AsyncSession, *, thread_id: int, leaf_id: int
) -> set[int]:
    """Ids of the leaf and its ancestors within the thread (no rows loaded)."""
    branch = _ancestors(thread_id, leaf_id, "branch_ids")
    rows = await session.scalars(
        select(branch.c.id).where(branch.c.thread_id == thread_id)
    )
    return set(rows.all())


async def list_siblings(
    session: AsyncSession, *, thread_id: int, parent_id: int | None
) -> Sequence[Message]:
    """Messages of the thread under `parent_id` (the roots when None), by id."""
    parent_clause = (
        Message.parent_id.is_(None)
        if parent_id is None
        else Message.parent_id == parent_id
    )
    stmt = (
        select(Message)
        .where(Message.thread_id == thread_id, parent_clause)
        .order_by(Message.id)
    )
    rows = await session.scalars(stmt)
    return rows.all()


async def get_newest_leaf_id(
    session: AsyncSession, *, thread_id: int, message_id: int
) -> int:
    """Walk down from `message_id`, taking the child with the highest id at each
    step, and return the leaf reached (`message_id` itself when childless). A
    child is always newer than its parent, so `id > parent id` bounds the walk."""
    walk = (
        select(Message.id)
        .where(Message.id == message_id, Message.thread_id == thread_id)
        .cte("walk", recursive=True)
    )
    step = walk.alias("step")
    newest_child = (
        select(func.max(Message.id))
        .where(
            Message.parent_id == step.c.id,
            Message.id > step.c.id,
            Message.thread_id == thread_id,
        )
        .scalar_subquery()
    )
    child = aliased(Message, name="child")
    walk = walk.union_all(select(child.id).join(step, child.id == newest_child))
    leaf = await session.scalar(select(func.max(walk.c.id)))
    return int(leaf) if leaf is not None else message_id


# -- answers written while they stream (no user filter: the caller owns the id) --

_MESSAGES = cast(Table, Message.__table__)
# Core executemany: one statement for every answer that grew since the last write.
_WRITE_TEXT = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("b_id"), _MESSAGES.c.status == "streaming")
    .values(content=bindparam("b_text"), updated_at=bindparam("b_at"))
)


async def update_streaming_texts(
    session: AsyncSession, *, texts: dict[int, str], at: datetime
) -> None:
    """Each message's text, where it is still ``streaming``."""
    rows = [{"b_id": mid, "b_text": text, "b_at": at} for mid, text in texts.items()]
    await session.execute(_WRITE_TEXT, rows)


async def update_message(
    session: AsyncSession,
    *,
    message_id: int,
    values: dict[str, Any],
    only_streaming: bool = False,
) -> bool:
    """True when the row was updated (with ``only_streaming``: it was still
    ``streaming``, so this update is the one that ended it)."""
    stmt = update(Message).where(Message.id == message_id)
    if only_streaming:
        stmt = stmt.where(Message.status == "streaming")
    result = cast("CursorResult[Any]", await session.execute(stmt.values(**values)))
    return int(result.rowcount or 0) == 1


async def touch_thread(session: AsyncSession, *, thread_id: int, at: datetime) -> None:
    await session.execute(
        update(Thread)
        .where(Thread.id == thread_id)
        .values(last_message_at=at, updated_at=at)
    )


async def list_streaming_message_ids(
    session: AsyncSession, *, unchanged_since: datetime | None = None
) -> Sequence[int]:
    stmt = select(Message.id).where(Message.status == "streaming")
    if unchanged_since is not None:
        stmt = stmt.where(Message.updated_at < unchanged_since)
    return (await session.scalars(stmt)).all()


# -- exchanges written in batches (Core executemany, no ORM objects) --------------

_THREADS = cast(Table, Thread.__table__)


class _JSONText(TypeDecorator[Any]):
    """A JSON column's value already serialized: passed on as it is (SQLite
    stores the text, asyncpg's json codec sends it)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


class _Instant(TypeDecorator[datetime]):
    """UTCDateTime's binding, converted once per value: each row of a batch
    binds its exchange's one instant two or three times (and the count update
    once more), and the conversion (SQLite: a formatted string) is the
    largest part of binding a row. One shared instance (``_INSTANT``): one
    processor and one memo for every statement below."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        convert = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        last: list[tuple[Any, Any]] = [(None, None)]

        def process(value: Any) -> Any:
            seen, out = last[0]  # one tuple, read and replaced whole
            if value is not seen:
                out = convert(value) if convert is not None else value
                last[0] = (value, out)
            return out

        return process


_INSTANT = _Instant()


async def _insert_ids(
    session: AsyncSession,
    stmt: Insert,
    id_column: Column[int],
    rows: list[dict[str, Any]],
) -> list[int]:
    """Insert the rows in batches (multi-row VALUES); their ids in the rows'
    order. PostgreSQL: SQLAlchemy's ``sort_by_parameter_order`` (a sentinel
    column it adds). SQLite has none it trusts and would insert row by row (one
    round trip each, the write lock held throughout), so there the ids are
    sorted instead: SQLite gives each new row max(rowid) + 1 as it inserts them,
    in order, so ascending ids are the rows' order."""
    if session.get_bind().dialect.name == "sqlite":
        result = await session.execute(stmt.returning(id_column), rows)
        return sorted(result.scalars().all())
    ordered = stmt.returning(id_column, sort_by_parameter_order=True)
    result = await session.execute(ordered, rows)
    return list(result.scalars().all())


def _stamps(*names: str) -> dict[str, Any]:
    """Time columns bound through ``_INSTANT`` (a bind parameter appears once
    per statement: insertmanyvalues batches on PostgreSQL count on it)."""
    return {name: bindparam(name, type_=_INSTANT) for name in names}


_INSERT_THREADS = insert(_THREADS).values(
    **_stamps("created_at", "updated_at", "last_message_at")
)
# meta_data comes serialized (see threads.service.NewMessage)
_INSERT_MESSAGES = insert(_MESSAGES).values(
    meta_data=bindparam("meta_data", type_=_JSONText()),
    **_stamps("created_at", "updated_at"),
)
# What add_message's record_message_added does, for many threads at once.
_COUNT_MESSAGES = (
    update(_THREADS)
    .where(_THREADS.c.id == bindparam("b_id"))
    .values(
        message_count=_THREADS.c.message_count + bindparam("b_added"),
        active_message_id=bindparam("b_leaf"),
        last_message_at=bindparam("b_at", type_=_INSTANT),
        updated_at=bindparam("b_updated_at", type_=_INSTANT),
    )
)


async def insert_threads(
    session: AsyncSession, *, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """New threads (every row the same keys); their ids, in the rows' order."""
    return await _insert_ids(session, _INSERT_THREADS, _THREADS.c.id, list(rows))


async def insert_messages(
    session: AsyncSession, *, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """New messages (every row the same keys, ``meta_data`` as JSON text);
    their ids, in the rows' order."""
    return await _insert_ids(session, _INSERT_MESSAGES, _MESSAGES.c.id, list(rows))


async def count_messages_added(
    session: AsyncSession, *, added: Sequence[tuple[int, int, int, datetime]]
) -> None:
    """Per (thread id, messages added, new active leaf, when): the counts, the
    active leaf and the last activity, atomically in SQL."""
    rows = [
        {"b_id": tid, "b_added": n, "b_leaf": leaf, "b_at": at, "b_updated_at": at}
        for tid, n, leaf, at in added
    ]
    await session.execute(_COUNT_MESSAGES, rows)


async def get_response_answer(
    session: AsyncSession, *, user_id: int, response_id: str
) -> tuple[Message, Thread] | None:
    """The answer holding that response id and its thread, if the user's."""
    row = (
        await session.execute(
            select(Message, Thread)
            .join(Thread, Thread.id == Message.thread_id)
            .where(Message.response_id == response_id, Thread.user_id == user_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def get_message_with_owner(
    session: AsyncSession, *, message_id: int
) -> tuple[Message, int] | None:
    """A message and the id of its thread's owner."""
    row = (
        await session.execute(
            select(Message, Thread.user_id)
            .join(Thread, Thread.id == Message.thread_id)
            .where(Message.id == message_id)
        )
    ).one_or_none()
    return None if row is None else (row[0], int(row[1]))
