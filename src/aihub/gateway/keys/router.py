"""/api/gateway-keys/: a user's keys for their programs (JWT only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from aihub.audit.deps import Audit
from aihub.auth.deps import CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.gateway.keys import service
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.gateway.keys.schemas import (
    GatewayKeyCreate,
    GatewayKeyCreated,
    GatewayKeyRead,
    GatewayKeyUpdate,
)
from aihub.runtime import RuntimeDep

router = APIRouter(prefix="/api/gateway-keys", tags=["gateway-keys"])


def _gateway(runtime: RuntimeDep) -> GatewayRuntime:
    return runtime.gateway


Gateway = Annotated[GatewayRuntime, Depends(_gateway)]


@router.get("/", response_model=list[GatewayKeyRead], summary="List your gateway keys")
async def list_keys(
    user: CurrentUser, session: DbSession, page: Page, gateway: Gateway
) -> list[GatewayKeyRead]:
    keys = await service.list_keys(session, user=user, skip=page.skip, limit=page.limit)
    return await gateway.with_live_spend(keys)


@router.post(
    "/", status_code=201, response_model=GatewayKeyCreated, summary="Create a key"
)
async def create_key(
    body: GatewayKeyCreate, user: CurrentUser, session: DbSession, audit: Audit
) -> GatewayKeyCreated:
    key, secret = await service.create_key(session, user=user, data=body, audit=audit)
    return GatewayKeyCreated.model_validate(
        {**GatewayKeyRead.model_validate(key).model_dump(), "key": secret}
    )


@router.get("/{key_id}", response_model=GatewayKeyRead, summary="One gateway key")
async def get_key(
    key_id: IdPath, user: CurrentUser, session: DbSession, gateway: Gateway
) -> GatewayKeyRead:
    key = await service.get_key(session, user=user, key_id=key_id)
    return (await gateway.with_live_spend([key]))[0]


@router.patch("/{key_id}", response_model=GatewayKeyRead, summary="Edit a key")
async def update_key(
    key_id: IdPath,
    body: GatewayKeyUpdate,
    user: CurrentUser,
    session: DbSession,
    gateway: Gateway,
    audit: Audit,
) -> GatewayKeyRead:
    key = await service.update_key(
        session,
        user=user,
        key_id=key_id,
        data=body,
        infra=gateway.infra,
        cache=gateway,
        audit=audit,
    )
    return (await gateway.with_live_spend([key]))[0]


@router.delete("/{key_id}", status_code=204, summary="Revoke a key")
async def revoke_key(
    key_id: IdPath,
    user: CurrentUser,
    session: DbSession,
    gateway: Gateway,
    audit: Audit,
) -> Response:
    await service.revoke_key(
        session,
        user=user,
        key_id=key_id,
        infra=gateway.infra,
        cache=gateway,
        audit=audit,
    )
    return Response(status_code=204)
