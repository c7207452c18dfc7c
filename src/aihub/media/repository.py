"""Queries on media_jobs and media_job_events.

Job transitions are conditional UPDATEs (``WHERE status = ...``), so two
processes never both move a job; the UPDATE also takes the row's write lock,
which serializes the event numbering that follows it in the same
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from aihub.core.db import utcnow
from aihub.media.models import MediaJob, MediaJobEvent
from aihub.users.models import User

ACTIVE = ("queued", "running")
FINISHED = ("completed", "failed", "cancelled")


def add_job(session: AsyncSession, job: MediaJob) -> MediaJob:
    session.add(job)
    return job


async def get_job(
    session: AsyncSession, *, job_id: int, user_id: int | None = None
) -> MediaJob | None:
    stmt = select(MediaJob).where(MediaJob.id == job_id)
    if user_id is not None:
        stmt = stmt.where(MediaJob.user_id == user_id)
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def list_jobs(
    session: AsyncSession,
    *,
    user_id: int,
    status: str | None,
    kind: str | None,
    skip: int,
    limit: int,
) -> Sequence[MediaJob]:
    stmt = select(MediaJob).where(MediaJob.user_id == user_id)
    if status is not None:
        stmt = stmt.where(MediaJob.status == status)
    if kind is not None:
        stmt = stmt.where(MediaJob.kind == kind)
    stmt = stmt.order_by(MediaJob.created_at.desc(), MediaJob.id.desc())
    return (await session.scalars(stmt.offset(skip).limit(limit))).all()


async def update_job(
    session: AsyncSession,
    *,
    job_id: int,
    values: dict[str, Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> bool:
    """Set ``values`` on the job when every ``where`` condition holds; whether
    it did (the row is then write-locked until the transaction ends)."""
    stmt = (
        update(MediaJob)
        .where(MediaJob.id == job_id, *where)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    result: CursorResult[Any] = await session.execute(stmt)  # type: ignore[assignment]
    return result.rowcount == 1


def ready(now: datetime) -> ColumnElement[bool]:
    """A queued job whose backoff (``retry_at``), if any, has ended."""
    return MediaJob.retry_at.is_(None) | (MediaJob.retry_at <= now)


async def claim_job(
    session: AsyncSession,
    *,
    job_id: int,
    user_id: int,
    user_limit: int,
    values: dict[str, Any],
    now: datetime,
) -> bool:
    """queued -> running, only while the user runs fewer than ``user_limit``
    jobs and the job's backoff is over: one statement, so two workers cannot
    both pass the check."""
    other = aliased(MediaJob)
    running = (
        select(func.count(other.id))
        .where(other.user_id == user_id, other.status == "running")
        .scalar_subquery()
    )
    return await update_job(
        session,
        job_id=job_id,
        values=values,
        where=(MediaJob.status == "queued", ready(now), running < user_limit),
    )


async def lock_user(session: AsyncSession, *, user_id: int) -> None:
    """Serialize claims of one user's jobs (PostgreSQL row lock; SQLite has a
    single writer anyway)."""
    stmt = select(User.id).where(User.id == user_id).with_for_update(key_share=True)
    await session.execute(stmt)


async def count_running(session: AsyncSession, *, user_id: int) -> int:
    stmt = select(func.count(MediaJob.id)).where(
        MediaJob.user_id == user_id, MediaJob.status == "running"
    )
    return int(await session.scalar(stmt) or 0)


async def next_queued_of_user(
    session: AsyncSession, *, user_id: int, now: datetime
) -> MediaJob | None:
    """The user's most urgent queued job that may start now (not one waiting
    out its retry backoff)."""
    stmt = (
        select(MediaJob)
        .where(MediaJob.user_id == user_id, MediaJob.status == "queued", ready(now))
        .order_by(MediaJob.priority, MediaJob.created_at, MediaJob.id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def list_stale_running(
    session: AsyncSession, *, before: datetime, limit: int = 100
) -> Sequence[MediaJob]:
    stmt = (
        select(MediaJob)
        .where(
            MediaJob.status == "running",
            (MediaJob.heartbeat_at < before) | (MediaJob.heartbeat_at.is_(None)),
        )
        .order_by(MediaJob.id)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def list_waiting_queued(
    session: AsyncSession, *, before: datetime | None, limit: int = 100
) -> Sequence[MediaJob]:
    """Queued jobs last touched before ``before`` (all when None), most urgent
    first."""
    stmt = select(MediaJob).where(MediaJob.status == "queued")
    if before is not None:
        stmt = stmt.where(MediaJob.updated_at < before)
    stmt = stmt.order_by(MediaJob.priority, MediaJob.created_at, MediaJob.id)
    return (await session.scalars(stmt.limit(limit))).all()


async def next_seq(session: AsyncSession, *, job_id: int) -> int:
    stmt = select(func.coalesce(func.max(MediaJobEvent.seq), 0)).where(
        MediaJobEvent.job_id == job_id
    )
    return int(await session.scalar(stmt) or 0) + 1


def add_event(session: AsyncSession, row: MediaJobEvent) -> MediaJobEvent:
    session.add(row)
    return row


async def list_events(
    session: AsyncSession, *, job_id: int, after: int, limit: int = 1000
) -> Sequence[MediaJobEvent]:
    stmt = (
        select(MediaJobEvent)
        .where(MediaJobEvent.job_id == job_id, MediaJobEvent.seq > after)
        .order_by(MediaJobEvent.seq)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()
