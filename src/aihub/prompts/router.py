"""/api/prompts: saved prompts (seed 003, section "Промпты") and rendering."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Response

from aihub.auth.deps import CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.prompts import service
from aihub.prompts.deps import PromptQuery
from aihub.prompts.models import Prompt
from aihub.prompts.schemas import (
    PromptCreate,
    PromptRead,
    PromptRender,
    PromptRendered,
    PromptUpdate,
)

router = APIRouter(prefix="/api/prompts", tags=["prompts"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_AUTH: dict[int | str, dict[str, Any]] = {401: _ERROR}
_ONE: dict[int | str, dict[str, Any]] = {401: _ERROR, 404: _ERROR}


@router.get(
    "/",
    response_model=list[PromptRead],
    responses=_AUTH,
    summary="List prompts",
    description="The caller's prompts, most recently updated first; filters "
    "category_id, is_favorite and search (title or content, case-insensitive).",
)
async def list_prompts(
    user: CurrentUser, session: DbSession, page: Page, filters: PromptQuery
) -> Sequence[Prompt]:
    return await service.list_prompts(
        session, user=user, skip=page.skip, limit=page.limit, filters=filters
    )


@router.post(
    "/",
    status_code=201,
    response_model=PromptRead,
    responses=_ONE,
    summary="Create a prompt",
    description="category_id must be one of the caller's categories (else 404).",
)
async def create_prompt(
    body: PromptCreate, user: CurrentUser, session: DbSession
) -> Prompt:
    return await service.create_prompt(session, user=user, data=body)


@router.get(
    "/{prompt_id}", response_model=PromptRead, responses=_ONE, summary="One prompt"
)
async def get_prompt(
    prompt_id: IdPath, user: CurrentUser, session: DbSession
) -> Prompt:
    return await service.get_prompt(session, user=user, prompt_id=prompt_id)


@router.put(
    "/{prompt_id}",
    response_model=PromptRead,
    responses=_ONE,
    summary="Update a prompt",
    description="Partial: only the fields sent change; category_id null clears it.",
)
async def update_prompt(
    prompt_id: IdPath, body: PromptUpdate, user: CurrentUser, session: DbSession
) -> Prompt:
    return await service.update_prompt(
        session, user=user, prompt_id=prompt_id, data=body
    )


@router.delete(
    "/{prompt_id}", status_code=204, responses=_ONE, summary="Delete a prompt"
)
async def delete_prompt(
    prompt_id: IdPath, user: CurrentUser, session: DbSession
) -> Response:
    await service.delete_prompt(session, user=user, prompt_id=prompt_id)
    return Response(status_code=204)


@router.post(
    "/{prompt_id}/render",
    response_model=PromptRendered,
    responses=_ONE,
    summary="Fill the prompt's {variables}",
    description="Every variable must get a value (422 validation_error naming "
    "each one missing); extra values are ignored; {{ and }} are literal braces.",
)
async def render_prompt(
    prompt_id: IdPath, body: PromptRender, user: CurrentUser, session: DbSession
) -> PromptRendered:
    return await service.render_prompt(
        session, user=user, prompt_id=prompt_id, values=body.variables
    )
