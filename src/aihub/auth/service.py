"""Logging in: the email or the username, and the password, give a JWT."""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.errors import UnauthorizedError
from aihub.core.security import create_access_token, hash_password, verify_password
from aihub.core.settings import Settings
from aihub.users import repository as users_repository

log = structlog.get_logger(__name__)
_DUMMY_HASH: list[str] = []


async def _burn_a_verify(password: str) -> None:
    """Spend the same time on an unknown login as on a wrong password."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(await hash_password("not-a-real-password"))
    await verify_password(password, _DUMMY_HASH[0])


async def login(
    session: AsyncSession,
    *,
    login: str,
    password: str,
    secret: str,
    settings: Settings,
) -> str:
    user = await users_repository.get_user_by_login(session, login=login.strip())
    if user is None:
        await _burn_a_verify(password)
        ok = False
    else:
        ok = await verify_password(password, user.password_hash) and user.is_active
    if user is None or not ok:
        log.info("login_failed")
        raise UnauthorizedError(
            "Incorrect email/username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    log.info("login_succeeded", user_id=user.id)
    return create_access_token(
        secret=secret,
        user_id=user.id,
        token_version=user.token_version,
        minutes=settings.access_token_minutes,
    )
