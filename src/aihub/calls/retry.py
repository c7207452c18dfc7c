"""The retry policy of a call, as data: how often a transient provider failure
(5xx, timeout, connection error) is tried again, and how long to wait first."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

BACKOFF_BASE_S = 0.25
BACKOFF_MAX_S = 4.0


class _RetrySettings(Protocol):
    upstream_retries: int


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``retries`` more tries after the first, waiting ``base_s`` x 1, 2, 4...
    (at most ``max_s``), each wait scaled by a jitter of 0.5 to 1."""

    retries: int = 2
    base_s: float = BACKOFF_BASE_S
    max_s: float = BACKOFF_MAX_S

    @classmethod
    def from_settings(cls, settings: _RetrySettings) -> RetryPolicy:
        """AIHUB_UPSTREAM_RETRIES with the standard backoff."""
        return cls(retries=settings.upstream_retries)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        step = min(self.max_s, self.base_s * 2 ** max(0, retry - 1))
        jitter = 0.5 + random.random() / 2  # noqa: S311 - jitter, not crypto
        return float(step * jitter)


NO_RETRY = RetryPolicy(retries=0)
