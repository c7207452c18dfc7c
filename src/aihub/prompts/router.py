from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Response

from aihub.auth.deps import CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath, IdQuery
from aihub.core.pagination import Page
from aihub.prompts import service
from aihub.prompts.models import Prompt
from aihub.prompts.schemas import (
    PromptCreate,
    PromptRead,
    PromptRender,
    PromptRendered,
    PromptUpdate,
)

router = APIRouter(prefix="/api/prompts", tags=["prompts"])


@router.get("/", response_model=list[PromptRead], summary="List prompts")
async def list_prompts(
    user: CurrentUser,
    session: DbSession,
    page: Page,
    category_id: IdQuery = None,
    is_favorite: bool | None = None,
    search: Annotated[str | None, Query(max_length=500)] = None,
) -> Sequence[Prompt]:
    return await service.list_prompts(
        session,
        user=user,
        skip=page.skip,
        limit=page.limit,
        category_id=category_id,
        is_favorite=is_favorite,
        search=search,
    )


@router.post("/", status_code=201, response_model=PromptRead, summary="Create")
async def create_prompt(
    body: PromptCreate, user: CurrentUser, session: DbSession
) -> Prompt:
    return await service.create_prompt(session, user=user, data=body)


@router.get("/{prompt_id}", response_model=PromptRead, summary="One prompt")
async def get_prompt(
    prompt_id: IdPath, user: CurrentUser, session: DbSession
) -> Prompt:
    return await service.get_prompt(session, user=user, prompt_id=prompt_id)


@router.put("/{prompt_id}", response_model=PromptRead, summary="Update")
async def update_prompt(
    prompt_id: IdPath, body: PromptUpdate, user: CurrentUser, session: DbSession
) -> Prompt:
    return await service.update_prompt(
        session, user=user, prompt_id=prompt_id, data=body
    )


@router.delete("/{prompt_id}", status_code=204, summary="Delete")
async def delete_prompt(
    prompt_id: IdPath, user: CurrentUser, session: DbSession
) -> Response:
    await service.delete_prompt(session, user=user, prompt_id=prompt_id)
    return Response(status_code=204)


@router.post(
    "/{prompt_id}/render", response_model=PromptRendered, summary="Fill {variables}"
)
async def render_prompt(
    prompt_id: IdPath, body: PromptRender, user: CurrentUser, session: DbSession
) -> PromptRendered:
    return await service.render_prompt(
        session, user=user, prompt_id=prompt_id, values=body.variables
    )
