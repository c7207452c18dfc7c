"""The refresh token's cookie: HttpOnly, SameSite=Strict, only sent to /api/auth.

The browser keeps the refresh token where page scripts cannot read it; API
clients may send and receive it in the JSON body of ``POST /api/auth/refresh``
instead.
"""

from __future__ import annotations

from fastapi import Response
from starlette.requests import HTTPConnection

from aihub.core.settings import Settings

REFRESH_COOKIE = "aihub_refresh"
COOKIE_PATH = "/api/auth"


def _is_https(conn: HTTPConnection) -> bool:
    return conn.url.scheme == "https"


def set_refresh_cookie(
    response: Response, conn: HTTPConnection, *, token: str, settings: Settings
) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        token,
        max_age=settings.refresh_token_days * 86400,
        path=COOKIE_PATH,
        httponly=True,
        secure=_is_https(conn),
        samesite="strict",
    )


def clear_refresh_cookie(response: Response, conn: HTTPConnection) -> None:
    response.delete_cookie(
        REFRESH_COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        secure=_is_https(conn),
        samesite="strict",
    )


def refresh_cookie(conn: HTTPConnection) -> str | None:
    return conn.cookies.get(REFRESH_COOKIE) or None
