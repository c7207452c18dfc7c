"""Sign-in errors (subclasses of the core tree, rendered in the seed shape)."""

from __future__ import annotations

from aihub.core.errors import (
    ApiError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)

_BEARER = {"WWW-Authenticate": "Bearer"}


class InvalidRefreshTokenError(UnauthorizedError):
    default_message = "Invalid, expired or revoked refresh token: sign in again"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers=_BEARER)


class SessionNotFoundError(NotFoundError):
    default_message = "Session not found"


class PasswordLoginDisabledError(ForbiddenError):
    default_message = (
        "Password sign-in is turned off on this hub: sign in with single sign-on"
    )


class SsoProviderNotFoundError(NotFoundError):
    default_message = "Sign-in provider not found"


class SsoStateError(BadRequestError):
    default_message = "Sign-in request expired or not started here: try again"


class SsoFailedError(UnauthorizedError):
    default_message = "Single sign-on failed"


class SsoAccountRefusedError(ForbiddenError):
    default_message = "This account may not sign in here"


class SsoProviderUnavailableError(ApiError):
    default_message = "The sign-in provider cannot be reached: try again later"
