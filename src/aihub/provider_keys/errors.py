"""Provider key errors.

NotFoundError
 └── ProviderKeyNotFoundError     404 not_found: no such key of this owner
ValidationFailedError
 └── ProviderKeyInvalidError      422 validation_error: a rule across fields
ApiKeyNotFoundError
 ├── NoProviderKeyError           400 api_key_not_found: the pool has no key
 └── ProviderKeysRejectedError    400 api_key_not_found: every key got 401/403
RateLimitError
 └── ProviderKeysCoolingError     429 rate_limit: every key cools down past the wait
BillingError
 └── ProviderKeysBillingError     402 billing: every usable key is out of credit
"""

from __future__ import annotations

import math

from aihub.core.errors import (
    ApiKeyNotFoundError,
    BillingError,
    NotFoundError,
    RateLimitError,
    ValidationFailedError,
)


class ProviderKeyNotFoundError(NotFoundError):
    default_message = "API key not found"


class ProviderKeyInvalidError(ValidationFailedError):
    default_message = "Invalid API key settings"


class NoProviderKeyError(ApiKeyNotFoundError):
    def __init__(self, provider: str) -> None:
        super().__init__(
            f"No active API key for provider {provider}: add one at /api/api-keys/"
        )


class ProviderKeysRejectedError(ApiKeyNotFoundError):
    def __init__(self, provider: str) -> None:
        super().__init__(
            f"Every {provider} API key was rejected by the provider (invalid key)"
        )


class ProviderKeysCoolingError(RateLimitError):
    def __init__(self, provider: str, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(
            f"Every {provider} API key is rate limited; the first is usable again "
            f"in {seconds} s",
            headers={"Retry-After": str(seconds)},
        )
        self.retry_after_s = retry_after_s


class ProviderKeysBillingError(BillingError):
    def __init__(self, provider: str) -> None:
        super().__init__(
            f"Every usable {provider} API key is out of credit or quota (billing)"
        )
