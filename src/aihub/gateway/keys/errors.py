"""Errors of gateway keys: their CRUD, their authentication and their limits.

NotFoundError      -> GatewayKeyNotFoundError        404 (another user's key too)
ConflictError      -> GatewayKeyRevokedError         409 (editing a revoked key)
UnauthorizedError  -> InvalidGatewayKeyError         401 (unknown, revoked, expired)
ForbiddenError     -> ModelNotAllowedError           403
RateLimitError     -> GatewayKeyRateLimitError       429 (+ Retry-After, x-ratelimit-*)
BillingError       -> GatewayKeyBudgetExceededError  402
"""

from __future__ import annotations

from aihub.core.errors import (
    BillingError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    UnauthorizedError,
)


class GatewayKeyNotFoundError(NotFoundError):
    default_message = "Gateway key not found"


class GatewayKeyRevokedError(ConflictError):
    default_message = "Gateway key is revoked"


class InvalidGatewayKeyError(UnauthorizedError):
    default_message = "Invalid API key"


class ModelNotAllowedError(ForbiddenError):
    default_message = "Model not allowed for this key"


class GatewayKeyRateLimitError(RateLimitError):
    default_message = "Rate limit reached for this key"


class GatewayKeyBudgetExceededError(BillingError):
    default_message = "Budget exhausted for this key"
