"""Sessions: each sign-in is a session (a family of refresh tokens).

A refresh token is good for one ``POST /api/auth/refresh``, which answers a new
access token and the next refresh token. Presenting an already rotated token
again means it was copied: the whole session is revoked, so the thief and the
owner both have to sign in again. Access tokens carry the session id (``sid``)
and stop working when their session is revoked or expires, or when the user's
``token_version`` moves (password change, deactivation, sign out everywhere).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit import service as audit
from aihub.audit.service import AuditContext
from aihub.auth import repository
from aihub.auth.errors import InvalidRefreshTokenError, SessionNotFoundError
from aihub.auth.models import AuthSession
from aihub.core.db import utcnow
from aihub.core.security import create_access_token, hash_api_key
from aihub.core.settings import Settings
from aihub.users import service as users_service
from aihub.users.errors import UserNotFoundError
from aihub.users.models import User

log = structlog.get_logger(__name__)

REFRESH_TOKEN_MAX = 256


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    session_id: int
    user_id: int


def _access_token(
    user: User, session_id: int, *, secret: str, settings: Settings
) -> str:
    return create_access_token(
        secret=secret,
        user_id=user.id,
        token_version=user.token_version,
        minutes=settings.access_token_minutes,
        session_id=session_id,
    )


def _new_refresh(session: AsyncSession, session_id: int) -> str:
    raw = secrets.token_urlsafe(32)
    repository.add_refresh_token(
        session, session_id=session_id, token_hash=hash_api_key(raw)
    )
    return raw


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    method: str,
    context: AuditContext,
    secret: str,
    settings: Settings,
) -> IssuedTokens:
    """A new session for a user who just signed in (flushed; the caller commits)."""
    row = repository.add_session(
        session,
        user_id=user.id,
        token_version=user.token_version,
        method=method,
        ip=context.ip[:64] if context.ip else None,
        user_agent=context.user_agent[:255] if context.user_agent else None,
        expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
    )
    await session.flush()
    refresh = _new_refresh(session, row.id)
    access = _access_token(user, row.id, secret=secret, settings=settings)
    return IssuedTokens(access, refresh, row.id, user.id)


def _is_live(row: AuthSession, now: datetime) -> bool:
    return row.revoked_at is None and row.expires_at > now


async def is_session_live(
    session: AsyncSession, *, session_id: int, user: User
) -> bool:
    """For access tokens: the session exists, is the user's, and is live."""
    row = await repository.get_session(session, session_id=session_id)
    return (
        row is not None
        and row.user_id == user.id
        and row.token_version == user.token_version
        and _is_live(row, utcnow())
    )


async def _revoke_for_reuse(
    session: AsyncSession, row: AuthSession, context: AuditContext
) -> InvalidRefreshTokenError:
    await repository.revoke_sessions(
        session, user_id=row.user_id, session_id=row.id, now=utcnow(), reason="reuse"
    )
    audit.record(
        session,
        action="auth.refresh.reuse",
        actor_id=row.user_id,
        context=context,
        target_type="session",
        target_id=row.id,
    )
    await session.commit()
    log.warning("refresh_token_reused", user_id=row.user_id, session_id=row.id)
    return InvalidRefreshTokenError(
        "Refresh token already used: the session is revoked, sign in again"
    )


async def refresh(
    session: AsyncSession,
    *,
    refresh_token: str,
    context: AuditContext,
    secret: str,
    settings: Settings,
) -> IssuedTokens:
    """Rotate: the presented token is spent, a new one and an access token come
    back. A spent token presented again revokes its session."""
    if not refresh_token or len(refresh_token) > REFRESH_TOKEN_MAX:
        raise InvalidRefreshTokenError()
    token = await repository.get_refresh_token(
        session, token_hash=hash_api_key(refresh_token)
    )
    row = (
        await repository.get_session(session, session_id=token.session_id)
        if token is not None
        else None
    )
    now = utcnow()
    if token is None or row is None or not _is_live(row, now):
        raise InvalidRefreshTokenError()
    if token.rotated_at is not None:
        raise await _revoke_for_reuse(session, row, context)
    try:
        user = await users_service.get_user(session, user_id=row.user_id)
    except UserNotFoundError:
        raise InvalidRefreshTokenError() from None
    if not user.is_active or user.token_version != row.token_version:
        raise InvalidRefreshTokenError()
    if not await repository.mark_rotated(session, token_id=token.id, now=now):
        raise await _revoke_for_reuse(session, row, context)
    row.last_used_at = now
    row.expires_at = now + timedelta(days=settings.refresh_token_days)
    if context.ip:
        row.ip = context.ip[:64]
    new_refresh = _new_refresh(session, row.id)
    await session.commit()
    access = _access_token(user, row.id, secret=secret, settings=settings)
    return IssuedTokens(access, new_refresh, row.id, user.id)


async def logout(
    session: AsyncSession,
    *,
    user: User,
    session_id: int | None,
    refresh_token: str | None,
    everywhere: bool,
    context: AuditContext,
) -> None:
    """End the caller's session (the access token's and the refresh token's),
    or with ``everywhere`` every session and every token of the user."""
    now = utcnow()
    if everywhere:
        await repository.revoke_sessions(
            session, user_id=user.id, now=now, reason="logout_everywhere"
        )
        user.token_version += 1  # tokens issued before sessions existed end too
    else:
        ids = {session_id} if session_id is not None else set()
        if refresh_token and len(refresh_token) <= REFRESH_TOKEN_MAX:
            token = await repository.get_refresh_token(
                session, token_hash=hash_api_key(refresh_token)
            )
            if token is not None:
                ids.add(token.session_id)
        for sid in ids:  # a refresh token of another user revokes nothing
            await repository.revoke_sessions(
                session, user_id=user.id, session_id=sid, now=now, reason="logout"
            )
    audit.record(
        session,
        action="auth.logout",
        actor_id=user.id,
        context=context,
        target_type="session",
        target_id=session_id,
        detail={"everywhere": everywhere},
    )
    await session.commit()


async def list_sessions(session: AsyncSession, *, user: User) -> Sequence[AuthSession]:
    return await repository.list_active_sessions(
        session, user_id=user.id, token_version=user.token_version, now=utcnow()
    )


async def revoke_session(
    session: AsyncSession, *, user: User, session_id: int, context: AuditContext
) -> None:
    """Revoke one of the caller's sessions; another user's is not found."""
    row = await repository.get_user_session(
        session, user_id=user.id, session_id=session_id
    )
    if row is None or not _is_live(row, utcnow()):
        raise SessionNotFoundError()
    await repository.revoke_sessions(
        session, user_id=user.id, session_id=row.id, now=utcnow(), reason="revoked"
    )
    audit.record(
        session,
        action="auth.session.revoke",
        actor_id=user.id,
        context=context,
        target_type="session",
        target_id=row.id,
    )
    await session.commit()
