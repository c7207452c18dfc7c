"""Provider keys: a user's own keys (/api/api-keys/) and the admins' global keys
(/api/admin/api-keys/), encrypted at rest and shown masked.

A user's ``base_url`` must pass the outbound URL policy when it is saved (a 422
naming the rule); the global keys' are trusted (an admin may point one at a local
Ollama or vLLM). After each change the key pools of every process are told
(CHANGED_CHANNEL) so they drop what they cached; a key whose credentials change
starts healthy again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit import service as audit_service
from aihub.audit.service import AuditContext
from aihub.core.security import SecretBox, mask_secret
from aihub.infra import Infra
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.outbound import OutboundPolicy, OutboundRefusedError
from aihub.infra.state import KeyValueStore
from aihub.provider_keys import health, repository
from aihub.provider_keys.errors import ProviderKeyInvalidError, ProviderKeyNotFoundError
from aihub.provider_keys.models import ProviderKey
from aihub.provider_keys.schemas import (
    PoolKeyStatus,
    PoolStatus,
    ProviderKeyCreate,
    ProviderKeyUpdate,
    check_bedrock,
    require_base_url,
)
from aihub.users.models import User

log = structlog.get_logger(__name__)

# Changing any of these makes it another key as far as the provider is concerned.
_CREDENTIAL_FIELDS = frozenset({"provider", "api_key", "base_url", "settings"})
_STATUS_LABELS: dict[str, PoolStatus] = {
    "ok": "OK",
    "cooldown": "WAIT",
    "invalid": "INVALID",
}


async def list_keys(
    session: AsyncSession, *, user: User, skip: int, limit: int
) -> Sequence[ProviderKey]:
    return await repository.list_keys(session, user_id=user.id, skip=skip, limit=limit)


async def list_global_keys(
    session: AsyncSession, *, skip: int, limit: int
) -> Sequence[ProviderKey]:
    return await repository.list_global_keys(session, skip=skip, limit=limit)


async def list_usable_keys(
    session: AsyncSession, *, user_id: int
) -> Sequence[ProviderKey]:
    """The keys the user may call with: their own and the global ones."""
    return await repository.list_usable_keys(session, user_id=user_id)


async def get_key(session: AsyncSession, *, user: User, key_id: int) -> ProviderKey:
    key = await repository.get_key(session, user_id=user.id, key_id=key_id)
    if key is None:
        raise ProviderKeyNotFoundError(f"API key {key_id} not found")
    return key


async def get_global_key(session: AsyncSession, *, key_id: int) -> ProviderKey:
    key = await repository.get_global_key(session, key_id=key_id)
    if key is None:
        raise ProviderKeyNotFoundError(f"Global API key {key_id} not found")
    return key


async def create_key(
    session: AsyncSession,
    *,
    user: User,
    data: ProviderKeyCreate,
    box: SecretBox,
    infra: Infra,
    is_global: bool = False,
    outbound: OutboundPolicy | None = None,
    audit: AuditContext | None = None,
) -> ProviderKey:
    """A new key of ``user``; ``is_global`` (admins only) shares it with everyone.
    A user's key needs ``outbound``, the policy its ``base_url`` must pass."""
    if not is_global:
        await check_user_base_url(outbound, data.base_url)
    key = repository.add_key(
        session,
        ProviderKey(
            user_id=user.id,
            provider=data.provider,
            name=data.name,
            encrypted_key=box.encrypt(data.api_key),
            masked_key=mask_secret(data.api_key),
            base_url=data.base_url,
            settings=data.settings or {},
            is_active=data.is_active,
            is_global=is_global,
            status="ok",
        ),
    )
    await session.flush()
    audit_service.record(
        session,
        action="provider_key.create",
        actor_id=user.id,
        context=audit,
        target_type="provider_key",
        target_id=key.id,
        detail={"provider": key.provider, "name": key.name, "is_global": is_global},
    )
    await session.commit()
    log.info(
        "provider_key_created",
        key_id=key.id,
        provider=key.provider,
        is_global=is_global,
        owner_id=user.id,
    )
    await _announce(infra, key=key, providers={key.provider}, reset=False)
    return key


async def update_key(
    session: AsyncSession,
    *,
    user: User,
    key_id: int,
    data: ProviderKeyUpdate,
    box: SecretBox,
    infra: Infra,
    outbound: OutboundPolicy | None,
    audit: AuditContext | None = None,
) -> ProviderKey:
    if "base_url" in data.model_fields_set:  # checked before the session is used
        await check_user_base_url(outbound, data.base_url)
    key = await get_key(session, user=user, key_id=key_id)
    return await _apply_update(
        session, key=key, data=data, box=box, infra=infra, audit=audit, actor=user.id
    )


async def check_user_base_url(
    outbound: OutboundPolicy | None, base_url: str | None
) -> None:
    """ProviderKeyInvalidError unless the policy lets users reach ``base_url``."""
    if base_url is None:
        return
    if outbound is None:
        raise ProviderKeyInvalidError("base_url cannot be checked: no outbound policy")
    try:
        await outbound.check_url(base_url)
    except OutboundRefusedError as exc:
        raise ProviderKeyInvalidError(exc.explain("base_url")) from exc


async def update_global_key(
    session: AsyncSession,
    *,
    key_id: int,
    data: ProviderKeyUpdate,
    box: SecretBox,
    infra: Infra,
    audit: AuditContext | None = None,
    actor_id: int | None = None,
) -> ProviderKey:
    key = await get_global_key(session, key_id=key_id)
    return await _apply_update(
        session, key=key, data=data, box=box, infra=infra, audit=audit, actor=actor_id
    )


async def delete_key(
    session: AsyncSession,
    *,
    user: User,
    key_id: int,
    infra: Infra,
    audit: AuditContext | None = None,
) -> None:
    key = await get_key(session, user=user, key_id=key_id)
    await _delete(session, key=key, infra=infra, audit=audit, actor=user.id)


async def delete_global_key(
    session: AsyncSession,
    *,
    key_id: int,
    infra: Infra,
    audit: AuditContext | None = None,
    actor_id: int | None = None,
) -> None:
    key = await get_global_key(session, key_id=key_id)
    await _delete(session, key=key, infra=infra, audit=audit, actor=actor_id)


async def pool_status(
    session: AsyncSession, *, user_id: int, state: KeyValueStore
) -> list[PoolKeyStatus]:
    """Every key the user's calls may use (their own active keys, and the global
    ones of providers where they have none) with its shared health, for seed
    004's GET /api/status: OK, WAIT (until) or INVALID."""
    rows = await repository.list_usable_keys(session, user_id=user_id)
    own = {row.provider for row in rows if not row.is_global}
    now = health.now()
    result = []
    for row in rows:
        if row.is_global and row.provider in own:
            continue
        stored = health.from_row(row.status, row.cooldown_until, row.last_error)
        try:
            current = health.merge(await health.read(state, row.id), stored)
        except BackendUnavailableError:  # the rows alone still tell most of it
            current = stored
        status = current.status(now)
        cooling = status == "cooldown"
        result.append(
            PoolKeyStatus(
                provider=row.provider,
                id=row.id,
                name=row.name,
                is_global=row.is_global,
                status=_STATUS_LABELS[status],
                until=health.to_datetime(current.cool_until) if cooling else None,
                last_error=current.error if status != "ok" else None,
            )
        )
    return result


async def _apply_update(
    session: AsyncSession,
    *,
    key: ProviderKey,
    data: ProviderKeyUpdate,
    box: SecretBox,
    infra: Infra,
    audit: AuditContext | None,
    actor: int | None,
) -> ProviderKey:
    changes = _changes(data)
    old_provider = key.provider
    provider = changes.get("provider", key.provider)
    base_url = changes.get("base_url", key.base_url)
    try:
        require_base_url(provider, base_url)
        # another provider's key is no AWS pair: a key turned bedrock needs one
        if provider == "bedrock" != old_provider and "api_key" not in changes:
            raise ValueError("a key changed to bedrock needs its api_key")
        if provider == "bedrock":
            check_bedrock(changes.get("api_key"), changes.get("settings"))
    except ValueError as exc:
        raise ProviderKeyInvalidError(str(exc)) from exc
    if "api_key" in changes:
        secret: str = changes.pop("api_key")
        key.encrypted_key = box.encrypt(secret)
        key.masked_key = mask_secret(secret)
        changes["api_key"] = None  # only its presence matters below
    reset = bool(_CREDENTIAL_FIELDS & changes.keys())
    for field, value in changes.items():
        if field != "api_key":
            setattr(key, field, value)
    if reset:
        key.status, key.cooldown_until, key.last_error = "ok", None, None
    audit_service.record(
        session,
        action="provider_key.update",
        actor_id=actor,
        context=audit,
        target_type="provider_key",
        target_id=key.id,
        detail={"fields": sorted(changes), "is_global": key.is_global},
    )
    await session.commit()
    log.info(
        "provider_key_updated",
        key_id=key.id,
        provider=key.provider,
        fields=sorted(changes),
        health_reset=reset,
    )
    await _announce(infra, key=key, providers={old_provider, key.provider}, reset=reset)
    return key


def _changes(data: ProviderKeyUpdate) -> dict[str, Any]:
    """The fields sent; a null clears name, base_url and settings, and is ignored
    for the others (they cannot be empty)."""
    changes = data.model_dump(exclude_unset=True)
    for field in ("provider", "api_key", "is_active"):
        if changes.get(field, "") is None:
            del changes[field]
    if "settings" in changes and changes["settings"] is None:
        changes["settings"] = {}
    return changes


async def _delete(
    session: AsyncSession,
    *,
    key: ProviderKey,
    infra: Infra,
    audit: AuditContext | None,
    actor: int | None,
) -> None:
    audit_service.record(
        session,
        action="provider_key.delete",
        actor_id=actor,
        context=audit,
        target_type="provider_key",
        target_id=key.id,
        detail={"provider": key.provider, "is_global": key.is_global},
    )
    await repository.delete_key(session, key=key)
    await session.commit()
    log.info("provider_key_deleted", key_id=key.id, provider=key.provider)
    await _announce(infra, key=key, providers={key.provider}, reset=True)


async def _announce(
    infra: Infra, *, key: ProviderKey, providers: set[str], reset: bool
) -> None:
    """Tell every process's pool; the change is committed whatever happens here
    (pools also reload on their own after a short TTL)."""
    try:
        if reset:
            await health.clear(infra.state, key.id)
        await infra.events.publish(
            health.CHANGED_CHANNEL,
            {
                "key_id": key.id,
                "user_id": key.user_id,
                "is_global": key.is_global,
                "providers": sorted(providers),
                "reset": reset,
            },
        )
    except BackendUnavailableError:
        log.warning("provider_key_change_not_announced", key_id=key.id)
