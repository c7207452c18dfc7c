"""Who did what: ``record`` adds an entry in the caller's transaction, so an
audited change and its entry commit together (a failed sign-in commits its own).

Entries are append-only: this module offers no update or delete, and no route
changes an entry. ``detail`` is small and never holds a secret: keys whose
name suggests one are dropped, long strings are cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit import repository
from aihub.audit.models import AuditEntry

DETAIL_MAX_KEYS = 20
DETAIL_MAX_TEXT = 200
USER_AGENT_MAX = 255
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "key_value")


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Where a request came from (the peer's address and its User-Agent)."""

    ip: str | None = None
    user_agent: str | None = None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value[:DETAIL_MAX_TEXT]
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value[:DETAIL_MAX_KEYS]]
    if isinstance(value, Mapping):
        return _clean_detail(value)
    return str(value)[:DETAIL_MAX_TEXT]


def _clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    if not detail:
        return {}
    cleaned: dict[str, Any] = {}
    for key, value in list(detail.items())[:DETAIL_MAX_KEYS]:
        name = str(key)
        if any(word in name.lower() for word in _SECRET_WORDS):
            continue
        cleaned[name[:64]] = _clean(value)
    return cleaned


def record(
    session: AsyncSession,
    *,
    action: str,
    actor_id: int | None,
    context: AuditContext | None = None,
    target_type: str | None = None,
    target_id: int | str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry (``auth.login.success``, ``provider_key.create``...) to the
    session; the caller's commit writes it."""
    context = context or AuditContext()
    return repository.add_entry(
        session,
        action=action[:64],
        actor_id=actor_id,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id)[:64],
        ip=context.ip[:64] if context.ip else None,
        user_agent=context.user_agent[:USER_AGENT_MAX] if context.user_agent else None,
        detail=_clean_detail(detail),
    )


async def list_entries(
    session: AsyncSession,
    *,
    skip: int,
    limit: int,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[Sequence[AuditEntry], int]:
    """Newest first; ``action`` ending in ``.`` or ``*`` matches a prefix."""
    return await repository.list_entries(
        session,
        skip=skip,
        limit=limit,
        actor_id=actor_id,
        action=action,
        since=since,
        until=until,
    )
