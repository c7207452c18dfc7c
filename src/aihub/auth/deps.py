"""Who is calling: CurrentUser (a valid JWT of an active user) and AdminUser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from starlette.requests import HTTPConnection

from aihub.auth import sessions
from aihub.auth.throttle import LoginThrottle
from aihub.core.deps import DbSession, SecretKey
from aihub.core.errors import ForbiddenError, UnauthorizedError
from aihub.core.ids import MAX_ID
from aihub.core.security import decode_access_token
from aihub.runtime import RuntimeDep
from aihub.users import service as users_service
from aihub.users.models import User

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)
_BEARER = {"WWW-Authenticate": "Bearer"}


def _user_id(claims: Mapping[str, object] | None) -> int | None:
    """The token's subject as a database id, or None when it is not one."""
    sub = claims.get("sub") if claims else None
    if not isinstance(sub, str) or not (sub.isascii() and sub.isdigit()):
        return None
    user_id = int(sub)
    return user_id if 1 <= user_id <= MAX_ID else None


async def get_current_user(
    session: DbSession,
    secret: SecretKey,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if not token:
        raise UnauthorizedError("Not authenticated", headers=_BEARER)
    claims = decode_access_token(token, secret=secret)
    user_id = _user_id(claims)
    if claims is None or user_id is None:
        raise UnauthorizedError("Invalid or expired token", headers=_BEARER)
    user = await users_service.find_user(session, user_id=user_id)
    # A deactivated user, or a token issued before a password change, stops here.
    if user is None or not user.is_active or claims.get("ver") != user.token_version:
        raise UnauthorizedError("Invalid or expired token", headers=_BEARER)
    # A token of a sign-in session ends with it (sign out, revoke, reuse).
    sid = session_id_of(claims)
    if "sid" in claims and (
        sid is None
        or not await sessions.is_session_live(session, session_id=sid, user=user)
    ):
        raise UnauthorizedError("Session ended: sign in again", headers=_BEARER)
    return user


def session_id_of(claims: Mapping[str, object] | None) -> int | None:
    """The access token's session id (``sid``), or None."""
    sid = claims.get("sid") if claims else None
    if isinstance(sid, int) and not isinstance(sid, bool) and 1 <= sid <= MAX_ID:
        return sid
    return None


async def get_token_session_id(
    secret: SecretKey, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> int | None:
    """The caller's session id (after CurrentUser has checked the token)."""
    return session_id_of(decode_access_token(token, secret=secret)) if token else None


async def get_admin_user(user: Annotated[User, Depends(get_current_user)]) -> User:
    if not user.is_admin:
        raise ForbiddenError("Administrator role required")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_admin_user)]


async def get_optional_user(
    session: DbSession,
    secret: SecretKey,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User | None:
    """The caller when a valid token is sent, None when no token is sent."""
    if not token:
        return None
    return await get_current_user(session, secret, token)


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def _login_throttle(runtime: RuntimeDep) -> LoginThrottle:
    infra = runtime.infra
    return LoginThrottle(infra.limiter, infra.state, runtime.settings)


def _client_address(conn: HTTPConnection) -> str:
    """The peer's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return conn.client.host if conn.client is not None else "unknown"


LoginGuard = Annotated[LoginThrottle, Depends(_login_throttle)]
TokenSessionId = Annotated[int | None, Depends(get_token_session_id)]
ClientAddress = Annotated[str, Depends(_client_address)]
