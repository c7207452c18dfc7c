"""Every query on gateway_keys. Keys are always filtered by user_id in SQL,
except the lookup by hash (authentication); nothing here commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.db import UTCDateTime
from aihub.gateway.models import GatewayKey


def add_key(session: AsyncSession, **fields: Any) -> GatewayKey:
    key = GatewayKey(**fields)
    session.add(key)
    return key


async def get_key(
    session: AsyncSession, *, user_id: int, key_id: int
) -> GatewayKey | None:
    stmt = select(GatewayKey).where(
        GatewayKey.id == key_id, GatewayKey.user_id == user_id
    )
    return await session.scalar(stmt)


async def get_spend(session: AsyncSession, *, key_id: int) -> float | None:
    """The key's stored spend (None: no such key). By id alone: for a job the
    key's owner started (its key id was checked then)."""
    spend = await session.scalar(
        select(GatewayKey.spend_usd).where(GatewayKey.id == key_id)
    )
    return None if spend is None else float(spend)


async def list_keys(
    session: AsyncSession, *, user_id: int, skip: int, limit: int
) -> Sequence[GatewayKey]:
    """Newest first (the (user_id, id) index serves it)."""
    stmt = (
        select(GatewayKey)
        .where(GatewayKey.user_id == user_id)
        .order_by(GatewayKey.id.desc())
        .offset(skip)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def get_key_by_hash(session: AsyncSession, *, key_hash: str) -> GatewayKey | None:
    return await session.scalar(
        select(GatewayKey).where(GatewayKey.key_hash == key_hash)
    )


_table = cast(Table, GatewayKey.__table__)
_ADD_USAGE = (
    update(_table)
    .where(_table.c.id == bindparam("key_id"))
    .values(
        spend_usd=_table.c.spend_usd + bindparam("delta"),
        last_used_at=func.coalesce(
            bindparam("used_at", type_=UTCDateTime()), _table.c.last_used_at
        ),
    )
)


async def add_usage(
    session: AsyncSession, *, usage: Mapping[int, tuple[float, datetime | None]]
) -> None:
    """Add spend and move last_used_at, per key id: one executemany."""
    if not usage:
        return
    params = [
        {"key_id": key_id, "delta": delta, "used_at": used_at}
        for key_id, (delta, used_at) in usage.items()
    ]
    # Core executemany: an ORM update with a list would mean "by primary key".
    connection = await session.connection()
    await connection.execute(_ADD_USAGE, params)
