from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Response

from aihub.auth.deps import CurrentUser
from aihub.categories import service
from aihub.categories.models import Category
from aihub.categories.schemas import CategoryCreate, CategoryRead, CategoryUpdate
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page

router = APIRouter(prefix="/api/categories", tags=["categories"])


@router.get("/", response_model=list[CategoryRead], summary="List categories")
async def list_categories(
    user: CurrentUser, session: DbSession, page: Page
) -> Sequence[Category]:
    return await service.list_categories(
        session, user=user, skip=page.skip, limit=page.limit
    )


@router.post("/", status_code=201, response_model=CategoryRead, summary="Create")
async def create_category(
    body: CategoryCreate, user: CurrentUser, session: DbSession
) -> Category:
    return await service.create_category(session, user=user, data=body)


@router.get("/{category_id}", response_model=CategoryRead, summary="One category")
async def get_category(
    category_id: IdPath, user: CurrentUser, session: DbSession
) -> Category:
    return await service.get_category(session, user=user, category_id=category_id)


@router.put("/{category_id}", response_model=CategoryRead, summary="Update")
async def update_category(
    category_id: IdPath, body: CategoryUpdate, user: CurrentUser, session: DbSession
) -> Category:
    return await service.update_category(
        session, user=user, category_id=category_id, data=body
    )


@router.delete("/{category_id}", status_code=204, summary="Delete")
async def delete_category(
    category_id: IdPath, user: CurrentUser, session: DbSession
) -> Response:
    await service.delete_category(session, user=user, category_id=category_id)
    return Response(status_code=204)
