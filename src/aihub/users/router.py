"""/api/users: registration and the caller's own account (seed 003)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from aihub.audit.deps import Audit
from aihub.auth.deps import CurrentUser, OptionalUser
from aihub.core.deps import AppSettings, DbSession
from aihub.runtime import RuntimeDep
from aihub.users import service
from aihub.users.models import User
from aihub.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/api/users", tags=["users"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_AUTH: dict[int | str, dict[str, Any]] = {401: _ERROR}


@router.post(
    "/",
    status_code=201,
    response_model=UserRead,
    responses={401: _ERROR, 403: _ERROR, 409: _ERROR},
    summary="Register",
    description="Open to anyone while AIHUB_OPEN_REGISTRATION is true (the "
    "default). When it is false, only a request with an administrator's bearer "
    "token may create accounts; anyone else gets 403 forbidden.",
)
async def register_user(
    body: UserCreate,
    session: DbSession,
    settings: AppSettings,
    caller: OptionalUser,
    audit: Audit,
) -> User:
    return await service.register_user(
        session, data=body, settings=settings, registrar=caller, audit=audit
    )


@router.get("/me", response_model=UserRead, responses=_AUTH, summary="The caller")
async def read_me(user: CurrentUser) -> User:
    return user


@router.put(
    "/me",
    response_model=UserRead,
    responses={401: _ERROR, 409: _ERROR},
    summary="Update the caller's email, username or password",
    description="A new password ends every token issued before it, this "
    "request's too: log in again with the new password.",
)
async def update_me(
    body: UserUpdate,
    user: CurrentUser,
    session: DbSession,
    settings: AppSettings,
    audit: Audit,
) -> User:
    return await service.update_me(
        session, user=user, data=body, settings=settings, audit=audit
    )


@router.delete(
    "/me",
    status_code=204,
    responses={401: _ERROR, 409: _ERROR},
    summary="Delete the account and all its data",
    description="409 conflict for the last active administrator.",
)
async def delete_me(
    user: CurrentUser, session: DbSession, runtime: RuntimeDep, audit: Audit
) -> Response:
    await service.delete_me(
        session, user=user, events=runtime.infra.events, audit=audit
    )
    return Response(status_code=204)
