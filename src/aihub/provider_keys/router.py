"""Seed 003's /api/api-keys/ (a user's own keys) and /api/admin/api-keys/ (the
global keys every user may fall back on; admins only)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Response

from aihub.audit.deps import Audit
from aihub.auth.deps import AdminUser, CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.provider_keys import service
from aihub.provider_keys.deps import AppInfra, KeyBox, Outbound
from aihub.provider_keys.models import ProviderKey
from aihub.provider_keys.presets import PRESETS, Preset
from aihub.provider_keys.schemas import (
    ProviderKeyCreate,
    ProviderKeyRead,
    ProviderKeyUpdate,
)

router = APIRouter(prefix="/api/api-keys", tags=["api-keys"])
admin_router = APIRouter(prefix="/api/admin/api-keys", tags=["admin"])


@router.get("/", response_model=list[ProviderKeyRead], summary="List your API keys")
async def list_keys(
    user: CurrentUser, session: DbSession, page: Page
) -> Sequence[ProviderKey]:
    return await service.list_keys(session, user=user, skip=page.skip, limit=page.limit)


@router.get(
    "/presets",
    response_model=list[Preset],
    summary="Presets for OpenAI-compatible services",
)
async def list_presets(_user: CurrentUser) -> tuple[Preset, ...]:
    """Services a key can be added for by ``preset`` alone (with the key)."""
    return PRESETS


@router.post("/", status_code=201, response_model=ProviderKeyRead, summary="Add")
async def create_key(
    body: ProviderKeyCreate,
    user: CurrentUser,
    session: DbSession,
    box: KeyBox,
    infra: AppInfra,
    outbound: Outbound,
    audit: Audit,
) -> ProviderKey:
    return await service.create_key(
        session,
        user=user,
        data=body,
        box=box,
        infra=infra,
        outbound=outbound,
        audit=audit,
    )


@router.get("/{key_id}", response_model=ProviderKeyRead, summary="One API key")
async def get_key(key_id: IdPath, user: CurrentUser, session: DbSession) -> ProviderKey:
    return await service.get_key(session, user=user, key_id=key_id)


@router.put("/{key_id}", response_model=ProviderKeyRead, summary="Update")
async def update_key(
    key_id: IdPath,
    body: ProviderKeyUpdate,
    user: CurrentUser,
    session: DbSession,
    box: KeyBox,
    infra: AppInfra,
    outbound: Outbound,
    audit: Audit,
) -> ProviderKey:
    return await service.update_key(
        session,
        user=user,
        key_id=key_id,
        data=body,
        box=box,
        infra=infra,
        outbound=outbound,
        audit=audit,
    )


@router.delete("/{key_id}", status_code=204, summary="Delete")
async def delete_key(
    key_id: IdPath,
    user: CurrentUser,
    session: DbSession,
    infra: AppInfra,
    audit: Audit,
) -> Response:
    await service.delete_key(
        session, user=user, key_id=key_id, infra=infra, audit=audit
    )
    return Response(status_code=204)


@admin_router.get(
    "/", response_model=list[ProviderKeyRead], summary="List global API keys"
)
async def list_global_keys(
    _admin: AdminUser, session: DbSession, page: Page
) -> Sequence[ProviderKey]:
    return await service.list_global_keys(session, skip=page.skip, limit=page.limit)


@admin_router.post(
    "/", status_code=201, response_model=ProviderKeyRead, summary="Add a global key"
)
async def create_global_key(
    body: ProviderKeyCreate,
    admin: AdminUser,
    session: DbSession,
    box: KeyBox,
    infra: AppInfra,
    audit: Audit,
) -> ProviderKey:
    return await service.create_key(
        session,
        user=admin,
        data=body,
        box=box,
        infra=infra,
        is_global=True,
        audit=audit,
    )


@admin_router.get(
    "/{key_id}", response_model=ProviderKeyRead, summary="One global API key"
)
async def get_global_key(
    key_id: IdPath, _admin: AdminUser, session: DbSession
) -> ProviderKey:
    return await service.get_global_key(session, key_id=key_id)


@admin_router.put(
    "/{key_id}", response_model=ProviderKeyRead, summary="Update a global key"
)
async def update_global_key(
    key_id: IdPath,
    body: ProviderKeyUpdate,
    admin: AdminUser,
    session: DbSession,
    box: KeyBox,
    infra: AppInfra,
    audit: Audit,
) -> ProviderKey:
    return await service.update_global_key(
        session,
        key_id=key_id,
        data=body,
        box=box,
        infra=infra,
        audit=audit,
        actor_id=admin.id,
    )


@admin_router.delete("/{key_id}", status_code=204, summary="Delete a global key")
async def delete_global_key(
    key_id: IdPath,
    admin: AdminUser,
    session: DbSession,
    infra: AppInfra,
    audit: Audit,
) -> Response:
    await service.delete_global_key(
        session, key_id=key_id, infra=infra, audit=audit, actor_id=admin.id
    )
    return Response(status_code=204)
