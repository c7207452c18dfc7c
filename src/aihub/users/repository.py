from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.users.models import User


async def get_user(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_login(session: AsyncSession, *, login: str) -> User | None:
    """A user by email (case-insensitive) or by username."""
    stmt = select(User).where(
        or_(func.lower(User.email) == login.lower(), User.username == login)
    )
    return await session.scalar(stmt.limit(1))


async def get_user_by_email(session: AsyncSession, *, email: str) -> User | None:
    stmt = select(User).where(func.lower(User.email) == email.lower())
    return await session.scalar(stmt.limit(1))


async def get_user_by_username(session: AsyncSession, *, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


def add_user(
    session: AsyncSession,
    *,
    email: str,
    username: str,
    password_hash: str,
    role: str = "user",
) -> User:
    user = User(email=email, username=username, password_hash=password_hash, role=role)
    session.add(user)
    return user


async def list_users(
    session: AsyncSession, *, skip: int, limit: int, search: str | None = None
) -> tuple[Sequence[User], int]:
    stmt = select(User)
    if search:
        pattern = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(User.email).like(pattern),
                func.lower(User.username).like(pattern),
            )
        )
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(stmt.order_by(User.id).offset(skip).limit(limit))
    return rows.all(), int(total or 0)


async def has_admin(session: AsyncSession) -> bool:
    stmt = select(User.id).where(User.role == "admin").limit(1)
    return await session.scalar(stmt) is not None


async def count_active_admins(session: AsyncSession) -> int:
    stmt = select(func.count(User.id)).where(User.role == "admin", User.is_active)
    return int(await session.scalar(stmt) or 0)


async def delete_user(session: AsyncSession, *, user: User) -> None:
    await session.delete(user)
