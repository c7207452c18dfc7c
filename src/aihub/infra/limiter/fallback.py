"""The Redis limiter with a per-process fallback while Redis is away.

Limits never switch off: when a Redis call fails, the same call is answered
by an in-process limiter (each process then enforces the whole limit on its
own, so N processes may together let through up to N times the limit for the
length of the outage). Back on Redis, the shared windows apply again; what was
counted in-process during the outage is not carried over. ``degraded`` says
which one answered last (``/ready`` reports it). After a failure Redis is
tried again only every ``retry_after_s``, so requests do not each pay the
client's connection retries during an outage.
"""

from __future__ import annotations

import time

import structlog

from aihub.infra.errors import BackendUnavailableError
from aihub.infra.limiter.base import Limiter, LimitResult
from aihub.infra.limiter.memory import MemoryLimiter

log = structlog.get_logger(__name__)


class FallbackLimiter:
    def __init__(
        self, shared: Limiter, *, window_s: int = 60, retry_after_s: float = 1.0
    ) -> None:
        self._shared = shared
        self._retry_after_s = retry_after_s
        self._next_try = 0.0
        self._local_window_s = window_s
        self._local = MemoryLimiter(window_s=window_s)
        self.degraded = False

    async def hit(
        self, key: str, *, limit_per_minute: int, cost: int = 1
    ) -> LimitResult:
        if self._skip_shared():
            return await self._local.hit(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        try:
            result = await self._shared.hit(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        except BackendUnavailableError:
            self._fell_back()
            return await self._local.hit(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        self._recovered()
        return result

    async def peek(
        self, key: str, *, limit_per_minute: int, cost: int = 0
    ) -> LimitResult:
        if self._skip_shared():
            return await self._local.peek(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        try:
            result = await self._shared.peek(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        except BackendUnavailableError:
            self._fell_back()
            return await self._local.peek(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        self._recovered()
        return result

    async def charge(
        self, key: str, *, limit_per_minute: int, cost: int
    ) -> LimitResult:
        if self._skip_shared():
            return await self._local.charge(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        try:
            result = await self._shared.charge(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        except BackendUnavailableError:
            self._fell_back()
            return await self._local.charge(
                key, limit_per_minute=limit_per_minute, cost=cost
            )
        self._recovered()
        return result

    async def close(self) -> None:
        await self._local.close()
        await self._shared.close()

    def _skip_shared(self) -> bool:
        return self.degraded and time.monotonic() < self._next_try

    def _fell_back(self) -> None:
        if not self.degraded:
            log.warning("limiter_degraded_to_per_process")
        self.degraded = True
        self._next_try = time.monotonic() + self._retry_after_s

    def _recovered(self) -> None:
        if self.degraded:
            log.info("limiter_shared_again")
            # A fresh local window next time: old outage counts must not linger.
            self._local = MemoryLimiter(window_s=self._local_window_s)
        self.degraded = False
