"""Queries on audit_entries: add and list only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit.models import AuditEntry

_LIKE_ESCAPE = "\\"


def add_entry(
    session: AsyncSession,
    *,
    action: str,
    actor_id: int | None,
    target_type: str | None,
    target_id: str | None,
    ip: str | None,
    user_agent: str | None,
    detail: dict[str, Any],
) -> AuditEntry:
    entry = AuditEntry(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        user_agent=user_agent,
        detail=detail,
    )
    session.add(entry)
    return entry


def _prefix_pattern(prefix: str) -> str:
    escaped = (
        prefix.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return escaped + "%"


async def list_entries(
    session: AsyncSession,
    *,
    skip: int,
    limit: int,
    actor_id: int | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[Sequence[AuditEntry], int]:
    stmt = select(AuditEntry)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if action:
        if action.endswith(("*", ".")):
            pattern = _prefix_pattern(action.rstrip("*"))
            stmt = stmt.where(AuditEntry.action.like(pattern, escape=_LIKE_ESCAPE))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if since is not None:
        stmt = stmt.where(AuditEntry.created_at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.created_at < until)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await session.scalars(
        stmt.order_by(AuditEntry.id.desc()).offset(skip).limit(limit)
    )
    return rows.all(), int(total or 0)
