from __future__ import annotations

from fastapi import APIRouter, Response

from aihub.auth.deps import CurrentUser, OptionalUser
from aihub.core.deps import AppSettings, DbSession
from aihub.users import service
from aihub.users.models import User
from aihub.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/api/users", tags=["users"])


@router.post("/", status_code=201, response_model=UserRead, summary="Register")
async def register_user(
    body: UserCreate, session: DbSession, settings: AppSettings, caller: OptionalUser
) -> User:
    return await service.register_user(
        session, data=body, settings=settings, registrar=caller
    )


@router.get("/me", response_model=UserRead, summary="The current user")
async def read_me(user: CurrentUser) -> User:
    return user


@router.put("/me", response_model=UserRead, summary="Update the current user")
async def update_me(body: UserUpdate, user: CurrentUser, session: DbSession) -> User:
    return await service.update_me(session, user=user, data=body)


@router.delete("/me", status_code=204, summary="Delete the account and its data")
async def delete_me(user: CurrentUser, session: DbSession) -> Response:
    await service.delete_me(session, user=user)
    return Response(status_code=204)
