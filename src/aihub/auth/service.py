"""Logging in: the email or the username, and the password, start a session
(an access token and a refresh token, see aihub.auth.sessions)."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit import service as audit
from aihub.audit.service import AuditContext
from aihub.auth import sessions
from aihub.auth.errors import PasswordLoginDisabledError
from aihub.auth.sessions import IssuedTokens
from aihub.auth.throttle import LoginThrottle
from aihub.core.errors import UnauthorizedError
from aihub.core.security import decoy_password_hash, verify_password
from aihub.core.settings import Settings
from aihub.users import service as users_service
from aihub.users.models import User

log = structlog.get_logger(__name__)

LOGIN_MAX = 320  # the longest email the users table stores


async def _find_account(session: AsyncSession, login: str) -> User | None:
    """The account a login names. An empty, over-long or NUL-containing login
    names no account and is not queried: a NUL would be a driver error on
    PostgreSQL but a plain miss on SQLite, and both must answer the same 401."""
    if not login or len(login) > LOGIN_MAX or "\x00" in login:
        return None
    return await users_service.find_user_by_login(session, login=login)


async def login(
    session: AsyncSession,
    *,
    login: str,
    password: str,
    secret: str,
    settings: Settings,
    throttle: LoginThrottle,
    context: AuditContext,
) -> IssuedTokens:
    """A session for the right password; a 401 for a wrong one, a 429 (before
    any hashing) when the address or the account has tried too often, a 403
    when password sign-in is turned off."""
    if not settings.password_login:
        raise PasswordLoginDisabledError()
    client = context.ip or "unknown"
    login = login.strip()
    user = await _find_account(session, login)
    await session.commit()  # no connection held while the hash is computed
    account = throttle.account_of(login, user.id if user else None)
    await throttle.check(client=client, account=account)
    if user is None:
        # A decoy hash at the configured cost: an unknown login costs as much
        # time as a wrong password, so timing reveals no accounts.
        await verify_password(password, await decoy_password_hash(settings))
        ok = False
    else:
        ok = await verify_password(password, user.password_hash) and user.is_active
    if user is None or not ok:
        log.info("login_failed", user_id=user.id if user else None)
        await throttle.failed(client=client, account=account)
        audit.record(
            session,
            action="auth.login.failure",
            actor_id=user.id if user else None,
            context=context,
            target_type="user",
            target_id=user.id if user else None,
            detail={"method": "password", "login": login[:LOGIN_MAX]},
        )
        await session.commit()
        raise UnauthorizedError(
            "Incorrect email/username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await throttle.succeeded(account=account)
    log.info("login_succeeded", user_id=user.id)
    issued = await sessions.start_session(
        session,
        user=user,
        method="password",
        context=context,
        secret=secret,
        settings=settings,
    )
    audit.record(
        session,
        action="auth.login.success",
        actor_id=user.id,
        context=context,
        target_type="user",
        target_id=user.id,
        detail={"method": "password", "session_id": issued.session_id},
    )
    await session.commit()
    return issued
