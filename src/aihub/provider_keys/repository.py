"""Every query on provider_keys. A user's own keys are the rows with is_global
false; global keys (is_global true) belong to the admins and are reached only
through the admin functions or the pool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.provider_keys.models import ProviderKey


def _own(user_id: int) -> Select[Any]:
    return select(ProviderKey).where(
        ProviderKey.user_id == user_id, ProviderKey.is_global.is_(False)
    )


def _global() -> Select[Any]:
    return select(ProviderKey).where(ProviderKey.is_global.is_(True))


async def get_key(
    session: AsyncSession, *, user_id: int, key_id: int
) -> ProviderKey | None:
    key: ProviderKey | None = await session.scalar(
        _own(user_id).where(ProviderKey.id == key_id)
    )
    return key


async def get_global_key(session: AsyncSession, *, key_id: int) -> ProviderKey | None:
    key: ProviderKey | None = await session.scalar(
        _global().where(ProviderKey.id == key_id)
    )
    return key


async def get_any_key(session: AsyncSession, *, key_id: int) -> ProviderKey | None:
    return await session.get(ProviderKey, key_id)


async def list_keys(
    session: AsyncSession, *, user_id: int, skip: int, limit: int
) -> Sequence[ProviderKey]:
    stmt = _own(user_id).order_by(ProviderKey.id).offset(skip).limit(limit)
    return list((await session.scalars(stmt)).all())


async def list_global_keys(
    session: AsyncSession, *, skip: int, limit: int
) -> Sequence[ProviderKey]:
    stmt = _global().order_by(ProviderKey.id).offset(skip).limit(limit)
    return list((await session.scalars(stmt)).all())


async def list_pool_keys(
    session: AsyncSession, *, user_id: int | None, provider: str
) -> Sequence[ProviderKey]:
    """Active keys of one provider: the user's own, or the global ones (None)."""
    base = _global() if user_id is None else _own(user_id)
    stmt = base.where(
        ProviderKey.provider == provider, ProviderKey.is_active.is_(True)
    ).order_by(ProviderKey.id)
    return list((await session.scalars(stmt)).all())


async def list_usable_keys(
    session: AsyncSession, *, user_id: int
) -> Sequence[ProviderKey]:
    """Active keys a user's calls may use: their own and every global one."""
    stmt = (
        select(ProviderKey)
        .where(
            ProviderKey.is_active.is_(True),
            (ProviderKey.user_id == user_id) | ProviderKey.is_global.is_(True),
        )
        .order_by(ProviderKey.provider, ProviderKey.id)
    )
    return list((await session.scalars(stmt)).all())


async def list_active_keys(session: AsyncSession) -> Sequence[ProviderKey]:
    """Every active key of every owner (the probe's round)."""
    stmt = (
        select(ProviderKey)
        .where(ProviderKey.is_active.is_(True))
        .order_by(ProviderKey.id)
    )
    return list((await session.scalars(stmt)).all())


def add_key(session: AsyncSession, key: ProviderKey) -> ProviderKey:
    session.add(key)
    return key


async def delete_key(session: AsyncSession, *, key: ProviderKey) -> None:
    await session.delete(key)


async def update_health(
    session: AsyncSession,
    *,
    key_id: int,
    status: str,
    cooldown_until: datetime | None,
    last_error: str | None,
) -> None:
    """Record a key's health without touching updated_at (that is for edits)."""
    stmt = (
        update(ProviderKey)
        .where(ProviderKey.id == key_id)
        .values(
            status=status,
            cooldown_until=cooldown_until,
            last_error=last_error,
            updated_at=ProviderKey.updated_at,
        )
    )
    await session.execute(stmt)


async def update_last_used(
    session: AsyncSession, *, used_at: Mapping[int, datetime]
) -> None:
    for key_id, at in used_at.items():
        stmt = (
            update(ProviderKey)
            .where(ProviderKey.id == key_id)
            .values(last_used_at=at, updated_at=ProviderKey.updated_at)
        )
        await session.execute(stmt)
