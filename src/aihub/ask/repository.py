"""Questions are rows of the request log of kind ``ask``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.usage.models import RequestLog

KIND = "ask"


async def list_recent(
    session: AsyncSession, *, user_id: int, limit: int
) -> Sequence[RequestLog]:
    stmt = (
        select(RequestLog)
        .where(
            RequestLog.user_id == user_id,
            RequestLog.kind == KIND,
            RequestLog.status == "ok",
        )
        .order_by(RequestLog.created_at.desc(), RequestLog.id.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def list_all(
    session: AsyncSession, *, user_id: int | None, skip: int, limit: int
) -> Sequence[RequestLog]:
    stmt = select(RequestLog).where(RequestLog.kind == KIND)
    if user_id is not None:
        stmt = stmt.where(RequestLog.user_id == user_id)
    stmt = stmt.order_by(RequestLog.id.desc()).offset(skip).limit(limit)
    return (await session.scalars(stmt)).all()


async def get(session: AsyncSession, *, request_id: int) -> RequestLog | None:
    stmt = select(RequestLog).where(
        RequestLog.id == request_id, RequestLog.kind == KIND
    )
    return (await session.scalars(stmt)).first()
