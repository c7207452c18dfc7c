"""The error tree every layer raises; main.py renders it by path.

AihubError (status_code, error_type, message)
 ├── ValidationFailedError       422 validation_error
 ├── BadRequestError             400 validation_error
 ├── UnauthorizedError           401 unauthorized
 ├── ForbiddenError              403 forbidden
 ├── NotFoundError               404 not_found
 ├── ConflictError               409 conflict
 ├── PayloadTooLargeError        413 payload_too_large
 ├── RateLimitError              429 rate_limit
 ├── BillingError                402 billing
 ├── ApiKeyNotFoundError         400 api_key_not_found
 ├── InvalidContextError         400 invalid_context
 ├── ApiError                    502 api_error
 └── ServiceUnavailableError     503 unavailable
"""

from __future__ import annotations

from typing import Any, ClassVar


class AihubError(Exception):
    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "api_error"
    default_message: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        self.headers = headers
        super().__init__(self.message)


class ValidationFailedError(AihubError):
    status_code = 422
    error_type = "validation_error"
    default_message = "Request validation failed"


class BadRequestError(AihubError):
    status_code = 400
    error_type = "validation_error"
    default_message = "Bad request"


class UnauthorizedError(AihubError):
    status_code = 401
    error_type = "unauthorized"
    default_message = "Not authenticated"


class ForbiddenError(AihubError):
    status_code = 403
    error_type = "forbidden"
    default_message = "Not allowed"


class NotFoundError(AihubError):
    status_code = 404
    error_type = "not_found"
    default_message = "Not found"


class ConflictError(AihubError):
    status_code = 409
    error_type = "conflict"
    default_message = "Conflict"


class PayloadTooLargeError(AihubError):
    status_code = 413
    error_type = "payload_too_large"
    default_message = "Request body too large"


class RateLimitError(AihubError):
    status_code = 429
    error_type = "rate_limit"
    default_message = "Rate limit reached"


class BillingError(AihubError):
    status_code = 402
    error_type = "billing"
    default_message = "Billing problem: credit or budget exhausted"


class ApiKeyNotFoundError(AihubError):
    status_code = 400
    error_type = "api_key_not_found"
    default_message = "No API key for this provider"


class InvalidContextError(AihubError):
    status_code = 400
    error_type = "invalid_context"
    default_message = "Invalid dialogue context"


class ApiError(AihubError):
    status_code = 502
    error_type = "api_error"
    default_message = "Provider API error"


class ServiceUnavailableError(AihubError):
    status_code = 503
    error_type = "unavailable"
    default_message = "Service unavailable"
