"""Gateway keys: CRUD for their owner, and the lookup that authenticates them.

After each edit or revocation every process is told on ``CHANGED_CHANNEL``
(``{"key_id", "user_id"}``) and drops the key from its cache; a message with a
``user_id`` only drops every key of that user (for a change of the owner)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.access.policy import may_use_gateway_keys
from aihub.audit import service as audit_service
from aihub.audit.service import AuditContext
from aihub.core.db import utcnow
from aihub.core.errors import NotFoundError
from aihub.core.security import hash_api_key
from aihub.gateway.caller import GATEWAY_KEY_PREFIX, KeyPolicy, TeamLimits
from aihub.gateway.keys import repository
from aihub.gateway.keys.cache import REJECTED, KeyEntry
from aihub.gateway.keys.errors import GatewayKeyNotFoundError, GatewayKeyRevokedError
from aihub.gateway.keys.schemas import GatewayKeyCreate, GatewayKeyUpdate
from aihub.gateway.models import GatewayKey
from aihub.infra import Infra
from aihub.infra.errors import BackendUnavailableError
from aihub.teams import service as teams_service
from aihub.users import service as users_service
from aihub.users.models import User

log = structlog.get_logger(__name__)

CHANGED_CHANNEL = "gateway_keys.changed"
PREFIX_CHARS = 12
"""Shown and stored: "ahk-" and the first 8 random characters."""
_CLEARABLE = frozenset({"rpm", "tpm", "budget_usd", "expires_at"})


class LocalCache(Protocol):
    """This process's key cache (dropped at once, before the others hear)."""

    def drop(self, *, key_id: int | None = None, user_id: int | None = None) -> None:
        """Forget a key, or every key of a user."""


def new_key() -> str:
    return GATEWAY_KEY_PREFIX + secrets.token_urlsafe(32)


async def create_key(
    session: AsyncSession,
    *,
    user: User,
    data: GatewayKeyCreate,
    audit: AuditContext | None = None,
) -> tuple[GatewayKey, str]:
    """The stored key and the full key (returned once, never stored). A team
    key is made by an owner of the team or an administrator (404 for a team the
    user is not in, 403 for a plain member)."""
    if data.team_id is not None:
        await teams_service.check_manager(session, user=user, team_id=data.team_id)
    secret = new_key()
    key = repository.add_key(
        session,
        user_id=user.id,
        team_id=data.team_id,
        name=data.name,
        key_hash=hash_api_key(secret),
        key_prefix=secret[:PREFIX_CHARS],
        models=list(data.models or ()),
        rpm=data.rpm,
        tpm=data.tpm,
        budget_usd=data.budget_usd,
        spend_usd=0.0,
        expires_at=data.expires_at,
    )
    await session.flush()
    audit_service.record(
        session,
        action="gateway_key.create",
        actor_id=user.id,
        context=audit,
        target_type="gateway_key",
        target_id=key.id,
        detail={"name": key.name, "key_prefix": key.key_prefix},
    )
    await session.commit()
    log.info("gateway_key_created", key_id=key.id, key_prefix=key.key_prefix)
    return key, secret


async def list_keys(
    session: AsyncSession, *, user: User, skip: int, limit: int
) -> Sequence[GatewayKey]:
    return await repository.list_keys(session, user_id=user.id, skip=skip, limit=limit)


async def get_key(session: AsyncSession, *, user: User, key_id: int) -> GatewayKey:
    key = await repository.get_key(session, user_id=user.id, key_id=key_id)
    if key is None:
        raise GatewayKeyNotFoundError
    return key


async def find_usable_key(
    session: AsyncSession, *, user_id: int, key_id: int
) -> GatewayKey | None:
    """The user's key when it is neither revoked nor expired, else None."""
    key = await repository.get_key(session, user_id=user_id, key_id=key_id)
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and _aware(key.expires_at) <= utcnow():
        return None
    return key


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def stored_spend(session: AsyncSession, *, key_id: int) -> float | None:
    """A key's spend as stored (None when the key is gone)."""
    return await repository.get_spend(session, key_id=key_id)


async def update_key(
    session: AsyncSession,
    *,
    user: User,
    key_id: int,
    data: GatewayKeyUpdate,
    infra: Infra,
    cache: LocalCache,
    audit: AuditContext | None = None,
) -> GatewayKey:
    key = await get_key(session, user=user, key_id=key_id)
    if key.revoked_at is not None:
        raise GatewayKeyRevokedError
    changes = _changes(data)
    for field, value in changes.items():
        setattr(key, field, value)
    audit_service.record(
        session,
        action="gateway_key.update",
        actor_id=user.id,
        context=audit,
        target_type="gateway_key",
        target_id=key.id,
        detail={"fields": sorted(changes)},
    )
    await session.commit()
    log.info("gateway_key_updated", key_id=key.id, fields=sorted(changes))
    await announce(infra, cache, key_id=key.id, user_id=key.user_id)
    return key


def _changes(data: GatewayKeyUpdate) -> dict[str, Any]:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        del changes["name"]
    if "models" in changes:
        changes["models"] = list(changes["models"] or ())
    return {k: v for k, v in changes.items() if v is not None or k in _CLEARABLE}


async def revoke_key(
    session: AsyncSession,
    *,
    user: User,
    key_id: int,
    infra: Infra,
    cache: LocalCache,
    audit: AuditContext | None = None,
) -> None:
    """Idempotent: a revoked key keeps its first revocation time."""
    key = await get_key(session, user=user, key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit_service.record(
            session,
            action="gateway_key.revoke",
            actor_id=user.id,
            context=audit,
            target_type="gateway_key",
            target_id=key.id,
            detail={"key_prefix": key.key_prefix},
        )
        await session.commit()
        log.info("gateway_key_revoked", key_id=key.id, key_prefix=key.key_prefix)
    await announce(infra, cache, key_id=key.id, user_id=key.user_id)


async def announce(
    infra: Infra,
    cache: LocalCache | None,
    *,
    key_id: int | None = None,
    user_id: int | None = None,
) -> None:
    """Drop a key (or a user's keys) in this process, then tell the others.
    The change is committed whatever happens here; caches expire on their own."""
    if cache is not None:
        cache.drop(key_id=key_id, user_id=user_id)
    try:
        await infra.events.publish(
            CHANGED_CHANNEL, {"key_id": key_id, "user_id": user_id}
        )
    except BackendUnavailableError:
        log.warning("gateway_key_change_not_announced", key_id=key_id)


async def load_key_entry(session: AsyncSession, *, key_hash: str) -> KeyEntry:
    """What the cache keeps for a hash: the key's policy when it and its owner
    are active, else a rejection (with the ids, so a change can drop it)."""
    key = await repository.get_key_by_hash(session, key_hash=key_hash)
    if key is None:
        return REJECTED
    rejected = KeyEntry(None, key_id=key.id, user_id=key.user_id)
    if key.revoked_at is not None:
        return rejected
    if key.expires_at is not None and key.expires_at <= utcnow():
        return rejected
    try:
        owner = await users_service.get_user(session, user_id=key.user_id)
    except NotFoundError:
        return rejected
    if not owner.is_active or not may_use_gateway_keys(owner.role):
        return rejected
    team: TeamLimits | None = None
    team_spend = 0.0
    if key.team_id is not None:
        loaded = await team_of_key(session, key=key, owner=owner)
        if loaded is None:
            return rejected
        team, team_spend = loaded
    policy = KeyPolicy(
        id=key.id,
        name=key.name,
        models=tuple(key.models or ()),
        rpm=key.rpm,
        tpm=key.tpm,
        budget_usd=key.budget_usd,
        team=team,
    )
    return KeyEntry(
        policy,
        key_id=key.id,
        user_id=key.user_id,
        is_admin=owner.is_admin,
        expires_at=key.expires_at.timestamp() if key.expires_at else None,
        stored_spend=key.spend_usd or 0.0,
        team_spend=team_spend,
    )


async def team_of_key(
    session: AsyncSession, *, key: GatewayKey, owner: User
) -> tuple[TeamLimits, float] | None:
    """A team key's team limits and the team's stored spend this month; None
    when the team is gone or the owner is no longer in it (the key is refused)."""
    if key.team_id is None:
        return None
    loaded = await teams_service.load_policy(session, team_id=key.team_id)
    if loaded is None or not (
        owner.is_admin
        or await teams_service.is_member(session, user_id=owner.id, team_id=key.team_id)
    ):
        return None
    limits = TeamLimits(
        id=loaded.id,
        models=loaded.models,
        rpm=loaded.rpm,
        tpm=loaded.tpm,
        budget_usd=loaded.budget_usd,
    )
    return limits, loaded.stored_spend
