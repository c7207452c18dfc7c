"""Every query on the sessions, refresh tokens and identities tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.auth.models import AuthSession, RefreshToken, UserIdentity


def add_session(
    session: AsyncSession,
    *,
    user_id: int,
    token_version: int,
    method: str,
    ip: str | None,
    user_agent: str | None,
    expires_at: datetime,
) -> AuthSession:
    row = AuthSession(
        user_id=user_id,
        token_version=token_version,
        method=method,
        ip=ip,
        user_agent=user_agent,
        expires_at=expires_at,
    )
    session.add(row)
    return row


def add_refresh_token(
    session: AsyncSession, *, session_id: int, token_hash: str
) -> RefreshToken:
    row = RefreshToken(session_id=session_id, token_hash=token_hash)
    session.add(row)
    return row


async def get_session(session: AsyncSession, *, session_id: int) -> AuthSession | None:
    return await session.get(AuthSession, session_id)


async def get_user_session(
    session: AsyncSession, *, user_id: int, session_id: int
) -> AuthSession | None:
    stmt = select(AuthSession).where(
        AuthSession.id == session_id, AuthSession.user_id == user_id
    )
    return await session.scalar(stmt)


async def get_refresh_token(
    session: AsyncSession, *, token_hash: str
) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return await session.scalar(stmt)


async def mark_rotated(session: AsyncSession, *, token_id: int, now: datetime) -> bool:
    """Mark a refresh token used; False when another request already did (so
    of two concurrent refreshes with one token, exactly one wins)."""
    stmt = (
        update(RefreshToken)
        .where(RefreshToken.id == token_id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)
    )
    result: CursorResult[tuple[()]] = await session.execute(stmt)  # type: ignore[assignment]  # DML gives a CursorResult
    return result.rowcount == 1


async def list_active_sessions(
    session: AsyncSession, *, user_id: int, token_version: int, now: datetime
) -> Sequence[AuthSession]:
    """Live sessions: not revoked, not expired, not ended by a password change."""
    stmt = (
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.token_version == token_version,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.id.desc())
    )
    return (await session.scalars(stmt)).all()


async def revoke_sessions(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    reason: str,
    session_id: int | None = None,
) -> None:
    """Revoke one session of the user, or all of them when no id is given."""
    stmt = update(AuthSession).where(
        AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
    )
    if session_id is not None:
        stmt = stmt.where(AuthSession.id == session_id)
    await session.execute(stmt.values(revoked_at=now, revoked_reason=reason))


async def get_identity(
    session: AsyncSession, *, provider: str, subject: str
) -> UserIdentity | None:
    stmt = select(UserIdentity).where(
        UserIdentity.provider == provider, UserIdentity.subject == subject
    )
    return await session.scalar(stmt)


def add_identity(
    session: AsyncSession,
    *,
    user_id: int,
    provider: str,
    subject: str,
    email: str | None,
    groups: list[str],
) -> UserIdentity:
    row = UserIdentity(
        user_id=user_id, provider=provider, subject=subject, email=email, groups=groups
    )
    session.add(row)
    return row


async def list_identities(
    session: AsyncSession, *, user_id: int
) -> Sequence[UserIdentity]:
    stmt = (
        select(UserIdentity)
        .where(UserIdentity.user_id == user_id)
        .order_by(UserIdentity.id)
    )
    return (await session.scalars(stmt)).all()
