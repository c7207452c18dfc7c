from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from aihub.auth.deps import CurrentUser
from aihub.catalog import service
from aihub.catalog.schemas import (
    AvailableModelList,
    Kind,
    TokenCountRead,
    TokenCountRequest,
)
from aihub.core.deps import DbSession
from aihub.provider_keys.discovery import discovered_models

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
    request: Request,
    kind: Annotated[
        list[Kind] | None,
        Query(description="Only these kinds (repeatable: ?kind=chat&kind=image)"),
    ] = None,
) -> AvailableModelList:
    discovered = await discovered_models(session, request.app.state, user_id=user.id)
    return service.available_models(discovered, kinds=kind)


@tokens_router.post(
    "/token-count", response_model=TokenCountRead, summary="Count tokens in a text"
)
async def count_tokens(body: TokenCountRequest, _: CurrentUser) -> TokenCountRead:
    count, estimated = await service.acount_tokens(body.provider, body.model, body.text)
    return TokenCountRead(token_count=count, estimated=estimated)
