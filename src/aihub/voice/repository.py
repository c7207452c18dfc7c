"""Every query on voice_sessions, voice_turns and voice_feedback (owner-scoped
in SQL wherever a user asks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.voice.models import VoiceFeedback, VoiceSession, VoiceTurn

LIVE_STATUSES = ("created", "active", "idle")


def add_session(session: AsyncSession, **values: Any) -> VoiceSession:
    row = VoiceSession(**values)
    session.add(row)
    return row


async def get_session(
    session: AsyncSession, *, user_id: int, session_id: str
) -> VoiceSession | None:
    stmt = select(VoiceSession).where(
        VoiceSession.id == session_id, VoiceSession.user_id == user_id
    )
    return await session.scalar(stmt)


async def get_status(session: AsyncSession, *, session_id: str) -> str | None:
    stmt = select(VoiceSession.status).where(VoiceSession.id == session_id)
    status: str | None = await session.scalar(stmt)
    return status


async def update_session(
    session: AsyncSession, *, session_id: str, **values: Any
) -> None:
    await session.execute(
        update(VoiceSession).where(VoiceSession.id == session_id).values(**values)
    )


async def update_live_session(
    session: AsyncSession, *, session_id: str, **values: Any
) -> bool:
    """Update a session unless it has ended; False when it had."""
    result = await session.execute(
        update(VoiceSession)
        .where(VoiceSession.id == session_id, VoiceSession.status != "ended")
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def count_active_sessions(session: AsyncSession, *, now: datetime) -> int:
    stmt = select(func.count()).where(
        VoiceSession.status == "active", VoiceSession.expires_at > now
    )
    return int(await session.scalar(stmt) or 0)


def add_turn(session: AsyncSession, **values: Any) -> VoiceTurn:
    row = VoiceTurn(**values)
    session.add(row)
    return row


async def get_turn(
    session: AsyncSession, *, session_id: str, turn_id: str
) -> VoiceTurn | None:
    stmt = select(VoiceTurn).where(
        VoiceTurn.session_id == session_id, VoiceTurn.turn_id == turn_id
    )
    return await session.scalar(stmt.order_by(VoiceTurn.id.desc()).limit(1))


async def list_recent_turns(
    session: AsyncSession, *, since: datetime, limit: int
) -> Sequence[VoiceTurn]:
    stmt = (
        select(VoiceTurn)
        .where(VoiceTurn.created_at >= since)
        .order_by(VoiceTurn.created_at.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


def add_feedback(session: AsyncSession, **values: Any) -> VoiceFeedback:
    row = VoiceFeedback(**values)
    session.add(row)
    return row


async def list_feedback(
    session: AsyncSession, *, skip: int, limit: int, session_id: str | None
) -> Sequence[VoiceFeedback]:
    stmt = select(VoiceFeedback)
    if session_id is not None:
        stmt = stmt.where(VoiceFeedback.session_id == session_id)
    stmt = stmt.order_by(VoiceFeedback.created_at.desc(), VoiceFeedback.id.desc())
    return (await session.scalars(stmt.offset(skip).limit(limit))).all()
