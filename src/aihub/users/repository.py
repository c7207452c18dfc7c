from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.users.models import ROLE_ADMIN, ROLE_USER, User

_LIKE_ESCAPE = "\\"


def _like_pattern(text: str) -> str:
    """`text` as a literal substring pattern: % and _ match only themselves."""
    escaped = (
        text.lower()
        .replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


async def get_user(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_login(session: AsyncSession, *, login: str) -> User | None:
    """A user by email or by username, both case-insensitive."""
    lowered = login.lower()
    stmt = select(User).where(
        or_(func.lower(User.email) == lowered, func.lower(User.username) == lowered)
    )
    return await session.scalar(stmt.order_by(User.id).limit(1))


async def get_user_by_email(session: AsyncSession, *, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == email.lower())
    return await session.scalar(stmt.limit(1))


async def get_user_by_username(session: AsyncSession, *, username: str) -> User | None:
    """Case-insensitive: "Admin" and "admin" are the same name."""
    stmt = select(User).where(func.lower(User.username) == username.lower())
    return await session.scalar(stmt.limit(1))


def add_user(
    session: AsyncSession,
    *,
    email: str,
    username: str,
    password_hash: str,
    role: str = ROLE_USER,
) -> User:
    user = User(email=email, username=username, password_hash=password_hash, role=role)
    session.add(user)
    return user


async def list_users(
    session: AsyncSession, *, skip: int, limit: int, search: str | None = None
) -> tuple[Sequence[User], int]:
    stmt = select(User)
    if search:
        pattern = _like_pattern(search)
        stmt = stmt.where(
            or_(
                func.lower(User.email).like(pattern, escape=_LIKE_ESCAPE),
                func.lower(User.username).like(pattern, escape=_LIKE_ESCAPE),
            )
        )
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(stmt.order_by(User.id).offset(skip).limit(limit))
    return rows.all(), int(total or 0)


async def has_admin(session: AsyncSession) -> bool:
    stmt = select(User.id).where(User.role == ROLE_ADMIN).limit(1)
    return await session.scalar(stmt) is not None


async def lock_active_admin_ids(session: AsyncSession) -> Sequence[int]:
    """Ids of the active admins, row-locked until commit on PostgreSQL so two
    admins demoting each other at once cannot both pass the last-admin check
    (SQLite has no row locks: FOR UPDATE is left out there)."""
    stmt = (
        select(User.id)
        .where(User.role == ROLE_ADMIN, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    return (await session.scalars(stmt)).all()


async def delete_user(session: AsyncSession, *, user: User) -> None:
    await session.delete(user)
