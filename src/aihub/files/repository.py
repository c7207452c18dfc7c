"""Queries on the files table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.files.models import StoredFile


def add_file(session: AsyncSession, row: StoredFile) -> StoredFile:
    session.add(row)
    return row


async def get_file_by_token(
    session: AsyncSession, *, user_id: int, token: str
) -> StoredFile | None:
    stmt = select(StoredFile).where(
        StoredFile.token == token, StoredFile.user_id == user_id
    )
    return await session.scalar(stmt)


async def list_files(
    session: AsyncSession, *, user_id: int, skip: int, limit: int
) -> Sequence[StoredFile]:
    stmt = (
        select(StoredFile)
        .where(StoredFile.user_id == user_id)
        .order_by(StoredFile.id.desc())
        .offset(skip)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def list_job_files(
    session: AsyncSession, *, job_ids: Sequence[int]
) -> Sequence[StoredFile]:
    if not job_ids:
        return []
    stmt = (
        select(StoredFile)
        .where(StoredFile.media_job_id.in_(job_ids))
        .order_by(StoredFile.id)
    )
    return (await session.scalars(stmt)).all()
