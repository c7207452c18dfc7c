"""Every query on categories, always filtered by user_id in SQL; never commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.categories.models import Category


async def get_category(
    session: AsyncSession, *, user_id: int, category_id: int
) -> Category | None:
    stmt = select(Category).where(
        Category.id == category_id, Category.user_id == user_id
    )
    return await session.scalar(stmt)


async def get_category_by_name(
    session: AsyncSession, *, user_id: int, name: str
) -> Category | None:
    """Case-insensitive (Unicode-aware on SQLite too: core registers lower())."""
    stmt = select(Category).where(
        Category.user_id == user_id, func.lower(Category.name) == name.lower()
    )
    return await session.scalar(stmt.order_by(Category.id).limit(1))


async def list_categories(
    session: AsyncSession, *, user_id: int, skip: int, limit: int
) -> Sequence[Category]:
    """By name, then id (index ix_categories_user_id_name)."""
    stmt = (
        select(Category)
        .where(Category.user_id == user_id)
        .order_by(Category.name, Category.id)
        .offset(skip)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


def add_category(
    session: AsyncSession,
    *,
    user_id: int,
    name: str,
    description: str | None,
    color: str | None,
) -> Category:
    category = Category(
        user_id=user_id, name=name, description=description, color=color
    )
    session.add(category)
    return category


async def delete_category(session: AsyncSession, *, category: Category) -> None:
    await session.delete(category)
