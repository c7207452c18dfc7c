"""/api/admin: administrators only (anyone else gets 403 forbidden)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AfterValidator

from aihub.admin import service
from aihub.audit.deps import Audit
from aihub.auth.deps import AdminUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.runtime import RuntimeDep
from aihub.users.models import User
from aihub.users.schemas import UserAdminUpdate, UserRead

router = APIRouter(prefix="/api/admin", tags=["admin"])

SEARCH_MAX = 320
_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ADMIN: dict[int | str, dict[str, Any]] = {401: _ERROR, 403: _ERROR}
_ONE: dict[int | str, dict[str, Any]] = {**_ADMIN, 404: _ERROR}


def _no_nul(value: str | None) -> str | None:
    """NUL is a driver error on PostgreSQL: refuse it the same on every database."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Search = Annotated[
    str | None,
    Query(max_length=SEARCH_MAX, description="Part of an email or username"),
    AfterValidator(_no_nul),
]


@router.get(
    "/users",
    response_model=list[UserRead],
    responses=_ADMIN,
    summary="All users (admin); the total is in X-Total-Count",
)
async def list_users(
    _: AdminUser,
    session: DbSession,
    page: Page,
    response: Response,
    search: Search = None,
) -> list[User]:
    users, total = await service.list_users(
        session, skip=page.skip, limit=page.limit, search=search
    )
    response.headers["X-Total-Count"] = str(total)
    return users


@router.get(
    "/users/{user_id}", response_model=UserRead, responses=_ONE, summary="One user"
)
async def get_user(user_id: IdPath, _: AdminUser, session: DbSession) -> User:
    return await service.get_user(session, user_id=user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    responses={**_ONE, 409: _ERROR},
    summary="Set a user's role or activity (admin)",
    description="Deactivation ends the user's tokens at once. A change that "
    "would leave no active administrator (the last one demoting or deactivating "
    "itself) is 409 conflict.",
)
async def update_user(
    user_id: IdPath,
    body: UserAdminUpdate,
    admin: AdminUser,
    session: DbSession,
    runtime: RuntimeDep,
    audit: Audit,
) -> User:
    return await service.update_user(
        session,
        admin=admin,
        user_id=user_id,
        data=body,
        events=runtime.infra.events,
        audit=audit,
    )
