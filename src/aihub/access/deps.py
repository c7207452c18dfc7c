"""The role policy as the app-wide dependency every route runs first.

Reads need nothing (every role may read what its routes show it); for any
other call with a bearer access token the caller's role is loaded and held to
``policy.may_call``. Requests without a token, or with a gateway key, are left
to the route's own authentication (401) and, for keys, to the key cache (a
viewer's keys are refused there)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from aihub.access.policy import READ_METHODS, may_call
from aihub.core.errors import ForbiddenError, NotFoundError
from aihub.core.ids import MAX_ID
from aihub.core.security import decode_access_token
from aihub.runtime import runtime_of
from aihub.users import service as users_service
from aihub.users.models import User

VIEWER_MESSAGE = "Your role is viewer: read-only access"


def check_user(user: User, method: str, path: str) -> None:
    """Raise 403 when the policy refuses this user this call."""
    if not may_call(user.role, method, path):
        raise ForbiddenError(VIEWER_MESSAGE)


def _subject(token: str, secret: str) -> int | None:
    """The user id an access token names, or None (not one of ours)."""
    claims = decode_access_token(token, secret=secret)
    sub = claims.get("sub") if claims else None
    if not isinstance(sub, str) or not (sub.isascii() and sub.isdigit()):
        return None
    user_id = int(sub)
    return user_id if 1 <= user_id <= MAX_ID else None


def _bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def enforce_role_policy(conn: HTTPConnection) -> None:
    method = conn.scope.get("method", "GET")  # a WebSocket upgrade is a GET
    if method in READ_METHODS:
        return
    token = _bearer(conn)
    if token is None:
        return
    runtime = runtime_of(conn)
    user_id = _subject(token, runtime.secret_key)
    if user_id is None:
        return  # not an access token: the route authenticates (or refuses) it
    async with runtime.sessionmaker() as session:
        try:
            user = await users_service.get_user(session, user_id=user_id)
        except NotFoundError:
            return  # the route answers 401
    check_user(user, method, conn.url.path)
