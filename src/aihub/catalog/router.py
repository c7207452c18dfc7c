from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aihub.auth.deps import CurrentUser
from aihub.catalog import service
from aihub.catalog.schemas import (
    AvailableModelList,
    Kind,
    TokenCountRead,
    TokenCountRequest,
)
from aihub.catalog.served import providers_with_keys, served_models
from aihub.core.deps import DbSession
from aihub.runtime import RuntimeDep

router = APIRouter(prefix="/api/models", tags=["models"])
tokens_router = APIRouter(prefix="/api/threads", tags=["threads"])


@router.get(
    "/available",
    response_model=AvailableModelList,
    summary="Models aihub knows, with context size, prices and capabilities",
)
async def available_models(
    user: CurrentUser,
    session: DbSession,
    runtime: RuntimeDep,
    kind: Annotated[
        list[Kind] | None,
        Query(description="Only these kinds (repeatable: ?kind=chat&kind=image)"),
    ] = None,
    served: Annotated[
        bool,
        Query(
            description="Only what the caller can be served: models of providers "
            "they (or a global key) hold a key for, and their servers' models, "
            "as GET /v1/models lists them"
        ),
    ] = False,
) -> AvailableModelList:
    discovered = await runtime.discovery.models(session, user_id=user.id)
    listed = service.available_models(discovered, kinds=kind)
    if not served:
        return listed
    usable = {
        (m.provider, m.id)
        for m in await served_models(
            session,
            pool=runtime.key_pool,
            discovery=runtime.discovery,
            fallbacks=runtime.settings.model_fallbacks,
            user_id=user.id,
            kinds=None,
        )
    }
    keyed = await providers_with_keys(runtime.key_pool, user_id=user.id)
    listed.models = [
        row
        for row in listed.models
        if (row.provider, row.id) in usable
        or (row.provider in keyed and row.source == "catalog")
    ]
    return listed


@tokens_router.post(
    "/token-count", response_model=TokenCountRead, summary="Count tokens in a text"
)
async def count_tokens(body: TokenCountRequest, _: CurrentUser) -> TokenCountRead:
    count, estimated = await service.acount_tokens(body.provider, body.model, body.text)
    return TokenCountRead(token_count=count, estimated=estimated)
