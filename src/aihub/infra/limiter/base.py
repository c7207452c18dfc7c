"""The rate limiter interface: a sliding one-minute window per key.

For requests per minute, ``hit(key, limit_per_minute=rpm)`` before the call.
For tokens per minute, ``peek(key, limit_per_minute=tpm, cost=estimate)`` before
the call and ``charge(key, limit_per_minute=tpm, cost=real_tokens)`` after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LimitResult:
    allowed: bool
    remaining: int
    """What is left in the window after this call."""
    reset_after_s: float
    """Seconds until the window frees room again (a Retry-After when denied)."""
    limit: int


class Limiter(Protocol):
    async def hit(
        self, key: str, *, limit_per_minute: int, cost: int = 1
    ) -> LimitResult:
        """Consume ``cost`` if it fits in the window; otherwise consume nothing."""

    async def peek(
        self, key: str, *, limit_per_minute: int, cost: int = 0
    ) -> LimitResult:
        """Would ``cost`` fit (``cost=0``: is anything left)? Consumes nothing."""

    async def charge(
        self, key: str, *, limit_per_minute: int, cost: int
    ) -> LimitResult:
        """Record usage that already happened. When it does not fit, the rest of
        the window is used up, so the next call waits; ``allowed`` says whether
        it fitted."""

    async def close(self) -> None: ...
