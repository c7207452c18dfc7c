from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from aihub.auth.deps import AdminUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.users import service as users_service
from aihub.users.models import User
from aihub.users.schemas import UserAdminUpdate, UserRead

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.get("/users", response_model=list[UserRead], summary="All users (admin)")
async def list_users(
    _: AdminUser,
    session: DbSession,
    page: Page,
    response: Response,
    search: Annotated[str | None, Query(max_length=320)] = None,
) -> list[User]:
    users, total = await users_service.list_users(
        session, skip=page.skip, limit=page.limit, search=search
    )
    response.headers["X-Total-Count"] = str(total)
    return users


@router.get("/users/{user_id}", response_model=UserRead, summary="One user (admin)")
async def get_user(user_id: IdPath, _: AdminUser, session: DbSession) -> User:
    return await users_service.get_user(session, user_id=user_id)


@router.patch(
    "/users/{user_id}", response_model=UserRead, summary="Role or activity (admin)"
)
async def update_user(
    user_id: IdPath, body: UserAdminUpdate, _: AdminUser, session: DbSession
) -> User:
    return await users_service.admin_update_user(session, user_id=user_id, data=body)
