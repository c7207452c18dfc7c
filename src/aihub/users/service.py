"""Accounts: registration, profile, deletion, and the bootstrap admin.

A change that may end what a user's credentials allow (an administrator's
change of role or activity, the account's deletion) is announced on the event
bus (``USER_CHANGED_CHANNEL``, ``{"user_id"}``), so every process drops what
it cached about the user (the gateway's key cache, for one)."""

from __future__ import annotations

import os
import re
import secrets

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.audit import service as audit_service
from aihub.audit.service import AuditContext
from aihub.core.security import hash_password, verify_password
from aihub.core.settings import Settings
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events import EventBus
from aihub.users import repository
from aihub.users.errors import (
    AccountTakenError,
    EmailTakenError,
    LastAdminError,
    PasswordRegistrationDisabledError,
    RegistrationClosedError,
    UsernameTakenError,
    UserNotFoundError,
)
from aihub.users.models import ROLE_ADMIN, ROLE_USER, User
from aihub.users.schemas import UserAdminUpdate, UserCreate, UserUpdate

log = structlog.get_logger(__name__)

USER_CHANGED_CHANNEL = "users.changed"


async def bootstrap_admin(
    sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings
) -> None:
    """Create or update the admin named by AIHUB_ADMIN_EMAIL/PASSWORD; with none
    configured and no admin yet, generate one and write its credentials to a
    file readable only by the owner. Idempotent: when another process created
    the same admin in between (a unique violation), it is updated instead."""
    try:
        await _bootstrap_admin(sessionmaker, settings=settings)
    except IntegrityError:
        log.info("admin_created_concurrently")
        await _bootstrap_admin(sessionmaker, settings=settings)


async def _bootstrap_admin(
    sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings
) -> None:
    async with sessionmaker() as session:
        if settings.admin_email and settings.admin_password:
            await _upsert_admin(
                session,
                email=settings.admin_email,
                username=settings.admin_username,
                password=settings.admin_password.get_secret_value(),
                settings=settings,
            )
            return
        if await repository.has_admin(session):
            return
        password = secrets.token_urlsafe(18)
        email = "admin@aihub.local"
        await _upsert_admin(
            session,
            email=email,
            username=settings.admin_username,
            password=password,
            settings=settings,
        )
    path = settings.data_dir / "admin_credentials.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"email={email}\nusername={settings.admin_username}\npassword={password}\n"
        )
    log.warning("admin_generated", credentials_file=str(path.resolve()))


async def _upsert_admin(
    session: AsyncSession,
    *,
    email: str,
    username: str,
    password: str,
    settings: Settings,
) -> None:
    user = await repository.get_user_by_email(session, email=email)
    if user is None:
        password_hash = await hash_password(password, settings)
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
            user.password_hash = await hash_password(password, settings)
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
    settings: Settings,
) -> None:
    async with sessionmaker() as session:
        await _upsert_admin(
            session,
            email=email,
            username=username,
            password=password,
            settings=settings,
        )


SSO_PASSWORD_HASH = "!sso"  # noqa: S105  no argon2 hash: no password matches it
_USERNAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


async def _free_username(session: AsyncSession, hint: str) -> str:
    base = _USERNAME_CHARS.sub("-", hint).strip("-.")[:56] or "user"
    if len(base) < 3:
        base = f"{base}-user"
    candidate = base
    while await repository.get_user_by_username(session, username=candidate):
        candidate = f"{base}-{secrets.token_hex(3)}"
    return candidate


async def create_sso_user(
    session: AsyncSession,
    *,
    email: str,
    username_hint: str,
    audit: AuditContext | None,
    provider: str,
) -> User:
    """A new account for a first single sign-on; it has no password (one can be
    set later on /api/users/me). Flushed, the caller commits."""
    user = repository.add_user(
        session,
        email=email,
        username=await _free_username(session, username_hint),
        password_hash=SSO_PASSWORD_HASH,
    )
    await _flush_account(session)
    audit_service.record(
        session,
        action="user.create",
        actor_id=user.id,
        context=audit,
        target_type="user",
        target_id=user.id,
        detail={"method": "sso", "provider": provider},
    )
    log.info("user_registered", user_id=user.id, provider=provider)
    return user


async def find_user_by_email(session: AsyncSession, *, email: str) -> User | None:
    return await repository.get_user_by_email(session, email=email)


async def sync_admin_role(
    session: AsyncSession, *, user: User, is_admin: bool, audit: AuditContext | None
) -> None:
    """The role the identity provider's groups give (AIHUB_SSO_ADMIN_GROUPS). The
    last active administrator keeps the role."""
    if is_admin == user.is_admin:
        return
    if not is_admin:
        try:
            await _ensure_other_admin(session, user_id=user.id)
        except LastAdminError:
            log.warning("sso_demotion_skipped_last_admin", user_id=user.id)
            return
    user.role = ROLE_ADMIN if is_admin else ROLE_USER
    audit_service.record(
        session,
        action="user.role_sync",
        actor_id=user.id,
        context=audit,
        target_type="user",
        target_id=user.id,
        detail={"role": user.role, "source": "sso_groups"},
    )


async def find_user_by_login(session: AsyncSession, *, login: str) -> User | None:
    """The account an email or username names, or None (login needs no 404)."""
    return await repository.get_user_by_login(session, login=login)


async def _check_free(
    session: AsyncSession, *, email: str | None, username: str | None, user_id: int
) -> None:
    if email is not None:
        owner = await repository.get_user_by_email(session, email=email)
        if owner is not None and owner.id != user_id:
            raise EmailTakenError()
    if username is not None:
        owner = await repository.get_user_by_username(session, username=username)
        if owner is not None and owner.id != user_id:
            raise UsernameTakenError()


async def _flush_account(session: AsyncSession) -> None:
    """Flush (for the new row's id); a unique email/username taken by a
    concurrent request is a 409, as at commit."""
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise AccountTakenError() from None


async def _commit_account(session: AsyncSession) -> None:
    """Commit; a unique email/username taken by a concurrent request is a 409."""
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise AccountTakenError() from None


async def register_user(
    session: AsyncSession,
    *,
    data: UserCreate,
    settings: Settings,
    registrar: User | None,
    audit: AuditContext | None = None,
) -> User:
    """Open registration, or an administrator creating an account when closed
    (or when password sign-in is off: accounts made ahead for SSO to link)."""
    by_admin = registrar is not None and registrar.is_admin
    if not settings.password_login and not by_admin:
        raise PasswordRegistrationDisabledError()
    if not settings.open_registration and not by_admin:
        raise RegistrationClosedError()
    await _check_free(session, email=data.email, username=data.username, user_id=0)
    user = repository.add_user(
        session,
        email=data.email,
        username=data.username,
        password_hash=await hash_password(data.password, settings),
    )
    await _flush_account(session)
    audit_service.record(
        session,
        action="user.create",
        actor_id=registrar.id if registrar else user.id,
        context=audit,
        target_type="user",
        target_id=user.id,
        detail={"method": "password", "by_admin": by_admin},
    )
    await _commit_account(session)
    log.info(
        "user_registered",
        user_id=user.id,
        by_user_id=registrar.id if registrar else None,
    )
    return user


async def update_me(
    session: AsyncSession,
    *,
    user: User,
    data: UserUpdate,
    settings: Settings,
    audit: AuditContext | None = None,
) -> User:
    await _check_free(
        session, email=data.email, username=data.username, user_id=user.id
    )
    if data.email is not None:
        user.email = data.email
    if data.username is not None:
        user.username = data.username
    if data.password is not None:
        user.password_hash = await hash_password(data.password, settings)
        user.token_version += 1  # tokens issued with the old password stop working
    audit_service.record(
        session,
        action="user.update",
        actor_id=user.id,
        context=audit,
        target_type="user",
        target_id=user.id,
        detail={"fields": sorted(data.model_dump(exclude_none=True))},
    )
    await _commit_account(session)
    log.info(
        "user_updated", user_id=user.id, password_changed=data.password is not None
    )
    return user


async def delete_me(
    session: AsyncSession,
    *,
    user: User,
    events: EventBus,
    audit: AuditContext | None = None,
) -> None:
    """Deletes the account; every user-owned table cascades on users.id."""
    was_admin = user.is_admin and user.is_active
    if was_admin:
        await _ensure_other_admin(session, user_id=user.id)
    await repository.delete_user(session, user=user)
    if was_admin:
        await _ensure_an_admin_remains(session)
    audit_service.record(
        session,
        action="user.delete",
        actor_id=None,  # the account is gone; the target id says whose it was
        context=audit,
        target_type="user",
        target_id=user.id,
        detail={"username": user.username},
    )
    await session.commit()
    log.info("user_deleted", user_id=user.id)
    await announce_changed(events, user_id=user.id)


async def announce_changed(events: EventBus, *, user_id: int) -> None:
    """Tell every process the user changed. The change is committed whatever
    happens here; caches expire on their own."""
    try:
        await events.publish(USER_CHANGED_CHANNEL, {"user_id": user_id})
    except BackendUnavailableError:
        log.warning("user_change_not_announced", user_id=user_id)


async def _ensure_other_admin(session: AsyncSession, *, user_id: int) -> None:
    """Before the change: raise unless an active admin other than `user_id`
    exists. On PostgreSQL this locks the admins' rows, so a concurrent change
    waits for ours and then sees it."""
    admin_ids = await repository.lock_active_admin_ids(session)
    if not any(admin_id != user_id for admin_id in admin_ids):
        raise LastAdminError()


async def _ensure_an_admin_remains(session: AsyncSession) -> None:
    """After the change, flushed: SQLite has no row locks and reads outside a
    transaction, but the flushed write holds its one write lock, so a second
    concurrent change counts only after ours has committed. Raising rolls back."""
    await session.flush()
    if not await repository.lock_active_admin_ids(session):
        raise LastAdminError()


async def list_users(
    session: AsyncSession, *, skip: int, limit: int, search: str | None
) -> tuple[list[User], int]:
    users, total = await repository.list_users(
        session, skip=skip, limit=limit, search=search
    )
    return list(users), total


async def find_user(session: AsyncSession, *, user_id: int) -> User | None:
    """The user with that id, else None (a token of a deleted account)."""
    return await repository.get_user(session, user_id=user_id)


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    user = await repository.get_user(session, user_id=user_id)
    if user is None:
        raise UserNotFoundError()
    return user


async def admin_update_user(
    session: AsyncSession,
    *,
    admin: User,
    user_id: int,
    data: UserAdminUpdate,
    events: EventBus,
    audit: AuditContext | None = None,
) -> User:
    """Role and activity; deactivation ends the user's tokens (and gateway
    keys) at once, and no change may leave the hub without an active
    administrator."""
    user = await get_user(session, user_id=user_id)
    loses_admin = (
        user.is_admin
        and user.is_active
        and (data.role not in (None, ROLE_ADMIN) or data.is_active is False)
    )
    if loses_admin:
        await _ensure_other_admin(session, user_id=user.id)
    if data.role is not None:
        user.role = data.role
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        user.token_version += 1  # a deactivated user's tokens end at once
    if loses_admin:
        await _ensure_an_admin_remains(session)
    audit_service.record(
        session,
        action="user.admin_update",
        actor_id=admin.id,
        context=audit,
        target_type="user",
        target_id=user.id,
        detail=data.model_dump(exclude_none=True),
    )
    await session.commit()
    log.info(
        "user_changed_by_admin",
        user_id=user.id,
        by_user_id=admin.id,
        role=user.role,
        is_active=user.is_active,
    )
    await announce_changed(events, user_id=user.id)
    return user
