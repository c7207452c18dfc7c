"""Accounts: registration, profile, deletion, and the bootstrap admin."""

from __future__ import annotations

import os
import secrets

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.security import hash_password, verify_password
from aihub.core.settings import Settings
from aihub.users import repository
from aihub.users.models import ROLE_ADMIN

log = structlog.get_logger(__name__)


async def bootstrap_admin(
    sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings
) -> None:
    """Create or update the admin named by AIHUB_ADMIN_EMAIL/PASSWORD; with none
    configured and no admin yet, generate one and write its credentials to a
    file readable only by the owner."""
    async with sessionmaker() as session:
        if settings.admin_email and settings.admin_password:
            await _upsert_admin(
                session,
                email=settings.admin_email,
                username=settings.admin_username,
                password=settings.admin_password.get_secret_value(),
            )
            return
        if await repository.has_admin(session):
            return
        password = secrets.token_urlsafe(18)
        email = "admin@aihub.local"
        await _upsert_admin(
            session, email=email, username=settings.admin_username, password=password
        )
    path = settings.data_dir / "admin_credentials.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"email={email}\nusername={settings.admin_username}\npassword={password}\n"
        )
    log.warning("admin_generated", credentials_file=str(path.resolve()))


async def _upsert_admin(
    session: AsyncSession, *, email: str, username: str, password: str
) -> None:
    user = await repository.get_user_by_email(session, email=email)
    if user is None:
        password_hash = await hash_password(password)
        taken = await repository.get_user_by_username(session, username=username)
        repository.add_user(
            session,
            email=email,
            username=username
            if taken is None
            else f"{username}-{secrets.token_hex(3)}",
            password_hash=password_hash,
            role=ROLE_ADMIN,
        )
        log.info("admin_created", email=email)
    else:
        if not await verify_password(password, user.password_hash):
            user.password_hash = await hash_password(password)
            user.token_version += 1  # the old password's sessions end
        user.role = ROLE_ADMIN
        user.is_active = True
        log.info("admin_updated", email=email)
    await session.commit()


async def create_or_update_admin(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    email: str,
    username: str,
    password: str,
) -> None:
    async with sessionmaker() as session:
        await _upsert_admin(session, email=email, username=username, password=password)
