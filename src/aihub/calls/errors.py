"""The one place a provider's failure becomes an aihub error (the seed's error
types), for every door."""

from __future__ import annotations

import math

from aihub.core.errors import (
    AihubError,
    ApiError,
    ApiKeyNotFoundError,
    BillingError,
    ForbiddenError,
    InvalidContextError,
    RateLimitError,
)
from aihub.providers.base import (
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamQuotaExceeded,
    UpstreamRateLimited,
    UpstreamTimeout,
)
from aihub.providers.errors import UpstreamRefused


class UpstreamRejectedError(AihubError):
    """The provider refused the request itself (not the key): a 400."""

    status_code = 400
    error_type = "api_error"
    default_message = "The provider rejected the request"


class UpstreamTimedOutError(ApiError):
    status_code = 504
    default_message = "The provider did not answer in time"


def as_hub_error(exc: BaseException) -> AihubError:
    """The hub error to show for ``exc`` (an AihubError passes through)."""
    if isinstance(exc, AihubError):
        return exc
    if not isinstance(exc, ProviderError):
        return ApiError("Unexpected failure while calling the provider")
    if isinstance(exc, UpstreamRefused):  # no connection was made
        return ForbiddenError(exc.message)
    message = f"Provider error: {exc.message}"
    if isinstance(exc, UpstreamRateLimited):
        headers = None
        if exc.retry_after is not None:
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
        return RateLimitError(message, headers=headers)
    if isinstance(exc, UpstreamAuthFailed):
        return ApiKeyNotFoundError(message)
    if isinstance(exc, UpstreamQuotaExceeded):
        return BillingError(message)
    if isinstance(exc, UpstreamBadRequest):
        if exc.is_context_error:
            return InvalidContextError(message)
        return UpstreamRejectedError(message)
    if isinstance(exc, UpstreamTimeout):
        return UpstreamTimedOutError(message)
    return ApiError(message)
