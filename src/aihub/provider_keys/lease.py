"""A key lent by the pool for one upstream call, and what the call reports back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import structlog

from aihub.provider_keys import health
from aihub.providers.base import (
    Credentials,
    ProviderError,
    UpstreamAuthFailed,
    UpstreamQuotaExceeded,
    UpstreamRateLimited,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PoolKey:
    """A provider key as the pool holds it: decrypted, ready for an adapter."""

    id: int
    provider: str
    name: str | None
    owner_id: int
    is_global: bool
    credentials: Credentials


class Outcomes(Protocol):
    """What a lease tells its pool (KeyPool implements it)."""

    def succeeded(self, key: PoolKey) -> None: ...

    async def cool(
        self, key: PoolKey, retry_after_s: float | None, message: str | None
    ) -> None: ...

    async def invalidate(
        self, key: PoolKey, reason: str, message: str | None
    ) -> None: ...


class Lease:
    """One key lent for one upstream call; report one outcome (the first counts)."""

    __slots__ = ("_done", "_pool", "key")

    def __init__(self, pool: Outcomes, key: PoolKey) -> None:
        self._pool = pool
        self.key = key
        self._done = False

    @property
    def credentials(self) -> Credentials:
        return self.key.credentials

    @property
    def key_id(self) -> int:
        return self.key.id

    @property
    def provider(self) -> str:
        return self.key.provider

    def _first(self) -> bool:
        first, self._done = not self._done, True
        return first

    def success(self) -> None:
        if self._first():
            self._pool.succeeded(self.key)

    async def rate_limited(
        self, retry_after_s: float | None = None, message: str | None = None
    ) -> None:
        """429: rest the key for ``retry_after_s`` (None: the pool's default)."""
        if self._first():
            await self._pool.cool(self.key, retry_after_s, message)

    async def auth_failed(self, message: str | None = None) -> None:
        """401/403: the key is invalid until the probe sees it work."""
        if self._first():
            await self._pool.invalidate(self.key, health.REASON_AUTH, message)

    async def quota_exceeded(self, message: str | None = None) -> None:
        """402 or a quota/credit error: invalid for billing until it works again."""
        if self._first():
            await self._pool.invalidate(self.key, health.REASON_BILLING, message)

    def failed(self, message: str | None = None) -> None:
        """An error that says nothing about the key (5xx, timeout, bad request)."""
        if self._first():
            log.info("provider_key_call_failed", key_id=self.key.id, error=message)

    async def report(self, exc: ProviderError) -> bool:
        """Record a provider error; True when another key may serve the call."""
        if isinstance(exc, UpstreamRateLimited):
            await self.rate_limited(exc.retry_after, exc.message)
        elif isinstance(exc, UpstreamAuthFailed):
            await self.auth_failed(exc.message)
        elif isinstance(exc, UpstreamQuotaExceeded):
            await self.quota_exceeded(exc.message)
        else:
            self.failed(exc.message)
            return False
        return True
