"""Every query on model_preferences, always filtered by user_id in SQL; never
commits."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.preferences.models import ModelPreference


async def get_preference(
    session: AsyncSession, *, user_id: int, preference_id: int
) -> ModelPreference | None:
    stmt = select(ModelPreference).where(
        ModelPreference.id == preference_id, ModelPreference.user_id == user_id
    )
    return await session.scalar(stmt)


async def list_preferences(
    session: AsyncSession, *, user_id: int, skip: int = 0, limit: int = 1000
) -> Sequence[ModelPreference]:
    stmt = (
        select(ModelPreference)
        .where(ModelPreference.user_id == user_id)
        .order_by(ModelPreference.id)
        .offset(skip)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def list_defaults(
    session: AsyncSession, *, user_id: int
) -> Sequence[ModelPreference]:
    stmt = (
        select(ModelPreference)
        .where(ModelPreference.user_id == user_id, ModelPreference.is_default)
        .order_by(ModelPreference.updated_at.desc(), ModelPreference.id.desc())
    )
    return (await session.scalars(stmt)).all()


async def clear_defaults(
    session: AsyncSession, *, user_id: int, provider: str, keep_id: int
) -> None:
    await session.execute(
        update(ModelPreference)
        .where(
            ModelPreference.user_id == user_id,
            ModelPreference.provider == provider,
            ModelPreference.id != keep_id,
            ModelPreference.is_default,
        )
        .values(is_default=False)
    )


def add_preference(session: AsyncSession, preference: ModelPreference) -> None:
    session.add(preference)


async def delete_preference(
    session: AsyncSession, *, preference: ModelPreference
) -> None:
    await session.delete(preference)
