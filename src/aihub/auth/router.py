from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from aihub.auth import service
from aihub.auth.deps import ClientAddress, LoginGuard
from aihub.auth.schemas import LoginRequest, Token
from aihub.core.deps import AppSettings, DbSession, SecretKey

router = APIRouter(prefix="/api/auth", tags=["auth"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_BAD_LOGIN: dict[int | str, dict[str, Any]] = {401: _ERROR, 429: _ERROR}


@router.post(
    "/token",
    response_model=Token,
    responses=_BAD_LOGIN,
    summary="Log in (OAuth2 password form; username = email or username)",
)
async def login_form(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DbSession,
    secret: SecretKey,
    settings: AppSettings,
    throttle: LoginGuard,
    client: ClientAddress,
) -> Token:
    token = await service.login(
        session,
        login=form.username,
        password=form.password,
        secret=secret,
        settings=settings,
        throttle=throttle,
        client=client,
    )
    return Token(access_token=token)


@router.post(
    "/login",
    response_model=Token,
    responses=_BAD_LOGIN,
    summary='Log in (JSON {"email" or "username", "password"})',
)
async def login_json(
    body: LoginRequest,
    session: DbSession,
    secret: SecretKey,
    settings: AppSettings,
    throttle: LoginGuard,
    client: ClientAddress,
) -> Token:
    token = await service.login(
        session,
        login=body.login,
        password=body.password,
        secret=secret,
        settings=settings,
        throttle=throttle,
        client=client,
    )
    return Token(access_token=token)
