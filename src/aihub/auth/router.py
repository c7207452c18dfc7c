"""/api/auth: password sign-in, refresh, sign-out and the caller's sessions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from aihub.audit.deps import Audit
from aihub.auth import service, sessions
from aihub.auth.cookies import clear_refresh_cookie, refresh_cookie, set_refresh_cookie
from aihub.auth.deps import CurrentUser, LoginGuard, TokenSessionId
from aihub.auth.errors import InvalidRefreshTokenError
from aihub.auth.schemas import (
    LoginRequest,
    RefreshedToken,
    RefreshRequest,
    SessionRead,
    Token,
)
from aihub.core.deps import AppSettings, DbSession, SecretKey
from aihub.core.ids import IdPath

router = APIRouter(prefix="/api/auth", tags=["auth"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_BAD_LOGIN: dict[int | str, dict[str, Any]] = {401: _ERROR, 403: _ERROR, 429: _ERROR}
_LOGIN_DESCRIPTION = (
    "Starts a session: the answer's access token names it, and the refresh "
    "token comes as the HttpOnly cookie `aihub_refresh` (path /api/auth) for "
    "`POST /api/auth/refresh`. 403 when AIHUB_PASSWORD_LOGIN is false."
)


@router.post(
    "/token",
    response_model=Token,
    responses=_BAD_LOGIN,
    summary="Log in (OAuth2 password form; username = email or username)",
    description=_LOGIN_DESCRIPTION,
)
async def login_form(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    response: Response,
    session: DbSession,
    secret: SecretKey,
    settings: AppSettings,
    throttle: LoginGuard,
    context: Audit,
) -> Token:
    issued = await service.login(
        session,
        login=form.username,
        password=form.password,
        secret=secret,
        settings=settings,
        throttle=throttle,
        context=context,
    )
    set_refresh_cookie(response, request, token=issued.refresh_token, settings=settings)
    return Token(access_token=issued.access_token)


@router.post(
    "/login",
    response_model=Token,
    responses=_BAD_LOGIN,
    summary='Log in (JSON {"email" or "username", "password"})',
    description=_LOGIN_DESCRIPTION,
)
async def login_json(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: DbSession,
    secret: SecretKey,
    settings: AppSettings,
    throttle: LoginGuard,
    context: Audit,
) -> Token:
    issued = await service.login(
        session,
        login=body.login,
        password=body.password,
        secret=secret,
        settings=settings,
        throttle=throttle,
        context=context,
    )
    set_refresh_cookie(response, request, token=issued.refresh_token, settings=settings)
    return Token(access_token=issued.access_token)


@router.post(
    "/refresh",
    response_model=RefreshedToken,
    response_model_exclude_none=True,
    responses={401: _ERROR},
    summary="A new access token for a refresh token (which rotates)",
    description="The refresh token from the JSON body, else from the "
    "`aihub_refresh` cookie. Each refresh token works once: the answer carries "
    "the next one (in the body when it came in the body, else in the cookie). "
    "Presenting a used one again revokes its whole session (401).",
)
async def refresh(
    request: Request,
    response: Response,
    session: DbSession,
    secret: SecretKey,
    settings: AppSettings,
    context: Audit,
    body: RefreshRequest | None = None,
) -> RefreshedToken:
    in_body = body is not None and body.refresh_token is not None
    presented = body.refresh_token if body and in_body else refresh_cookie(request)
    if not presented:
        raise InvalidRefreshTokenError("No refresh token: sign in")
    issued = await sessions.refresh(
        session,
        refresh_token=presented,
        context=context,
        secret=secret,
        settings=settings,
    )
    if in_body:
        return RefreshedToken(
            access_token=issued.access_token, refresh_token=issued.refresh_token
        )
    set_refresh_cookie(response, request, token=issued.refresh_token, settings=settings)
    return RefreshedToken(access_token=issued.access_token)


@router.post(
    "/logout",
    status_code=204,
    responses={401: _ERROR},
    summary="Sign out this session (or, with everywhere=true, every session)",
    description="Revokes the session of the bearer token (and of the refresh "
    "cookie); `everywhere=true` revokes every session of the user and every "
    "access token issued so far.",
)
async def logout(
    request: Request,
    user: CurrentUser,
    session_id: TokenSessionId,
    session: DbSession,
    context: Audit,
    everywhere: Annotated[bool, Query()] = False,
) -> Response:
    await sessions.logout(
        session,
        user=user,
        session_id=session_id,
        refresh_token=refresh_cookie(request),
        everywhere=everywhere,
        context=context,
    )
    response = Response(status_code=204)
    clear_refresh_cookie(response, request)
    return response


@router.get(
    "/sessions",
    response_model=list[SessionRead],
    responses={401: _ERROR},
    summary="The caller's active sessions, newest first",
)
async def list_sessions(
    user: CurrentUser, session_id: TokenSessionId, session: DbSession
) -> list[SessionRead]:
    rows = await sessions.list_sessions(session, user=user)
    return [
        SessionRead(
            id=row.id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            ip=row.ip,
            user_agent=row.user_agent,
            method=row.method,
            current=row.id == session_id,
        )
        for row in rows
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    responses={401: _ERROR, 404: _ERROR},
    summary="Revoke one of the caller's sessions",
    description="Its refresh token and access tokens stop working at once. "
    "Another user's session is 404.",
)
async def revoke_session(
    session_id: IdPath, user: CurrentUser, session: DbSession, context: Audit
) -> Response:
    await sessions.revoke_session(
        session, user=user, session_id=session_id, context=context
    )
    return Response(status_code=204)
