from __future__ import annotations

from aihub.core.errors import ConflictError, ForbiddenError, NotFoundError


class UserNotFoundError(NotFoundError):
    default_message = "User not found"


class EmailTakenError(ConflictError):
    default_message = "This email is already registered"


class UsernameTakenError(ConflictError):
    default_message = "This username is already taken"


class RegistrationClosedError(ForbiddenError):
    default_message = "Registration is closed: ask an administrator for an account"


class LastAdminError(ConflictError):
    default_message = "This would leave no active administrator"


class AccountTakenError(ConflictError):
    """A unique email/username lost a race with a concurrent request."""

    default_message = "This email or username is already taken"


class PasswordRegistrationDisabledError(ForbiddenError):
    default_message = (
        "Password registration is turned off on this hub: sign in with single sign-on"
    )
