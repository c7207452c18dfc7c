"""/api/categories: the caller's categories (seed 003, section "Категории")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Response

from aihub.auth.deps import CurrentUser
from aihub.categories import service
from aihub.categories.models import Category
from aihub.categories.schemas import CategoryCreate, CategoryRead, CategoryUpdate
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page

router = APIRouter(prefix="/api/categories", tags=["categories"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_AUTH: dict[int | str, dict[str, Any]] = {401: _ERROR}
_ONE: dict[int | str, dict[str, Any]] = {401: _ERROR, 404: _ERROR}


@router.get(
    "/",
    response_model=list[CategoryRead],
    responses=_AUTH,
    summary="List categories",
    description="The caller's categories ordered by name, then id; skip/limit.",
)
async def list_categories(
    user: CurrentUser, session: DbSession, page: Page
) -> Sequence[Category]:
    return await service.list_categories(
        session, user=user, skip=page.skip, limit=page.limit
    )


@router.post(
    "/",
    status_code=201,
    response_model=CategoryRead,
    responses={**_AUTH, 409: _ERROR},
    summary="Create a category",
    description="Names are unique per user, case-insensitively (409 conflict).",
)
async def create_category(
    body: CategoryCreate, user: CurrentUser, session: DbSession
) -> Category:
    return await service.create_category(session, user=user, data=body)


@router.get(
    "/{category_id}",
    response_model=CategoryRead,
    responses=_ONE,
    summary="One category",
)
async def get_category(
    category_id: IdPath, user: CurrentUser, session: DbSession
) -> Category:
    return await service.get_category(session, user=user, category_id=category_id)


@router.put(
    "/{category_id}",
    response_model=CategoryRead,
    responses={**_ONE, 409: _ERROR},
    summary="Update a category",
    description="Partial: only the fields sent change.",
)
async def update_category(
    category_id: IdPath, body: CategoryUpdate, user: CurrentUser, session: DbSession
) -> Category:
    return await service.update_category(
        session, user=user, category_id=category_id, data=body
    )


@router.delete(
    "/{category_id}",
    status_code=204,
    responses=_ONE,
    summary="Delete a category",
    description="Its threads and prompts stay, with category_id null.",
)
async def delete_category(
    category_id: IdPath, user: CurrentUser, session: DbSession
) -> Response:
    await service.delete_category(session, user=user, category_id=category_id)
    return Response(status_code=204)
