"""Brute-force protection for password checks (issue 12, defect 5).

Three limits, all shared by every process through the infra backends (Redis
when configured, in-process otherwise):

- failed attempts per client address per minute
  (``login_failures_per_minute_ip``);
- failed attempts per account per minute (``login_failures_per_minute_account``);
  the account is the user id when the login names one, else the login text, so
  an unknown login is throttled exactly like a known one;
- failures per account: after ``login_free_failures`` wrong passwords in a row
  (remembered ``login_failure_memory_s``), each further failure locks the
  account's password checks for ``login_lockout_base_s`` doubled per failure
  beyond the threshold, at most ``login_lockout_max_s``. A success resets it.

A refused attempt is a 429 ``rate_limit`` with Retry-After, answered before
any password is hashed, so a flood costs no argon2 work. When Redis does not
answer, the limits are skipped (logged): a Redis outage must not lock every
user out.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import structlog

from aihub.core.errors import RateLimitError
from aihub.core.settings import Settings
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.limiter import Limiter
from aihub.infra.state import KeyValueStore

log = structlog.get_logger(__name__)


class LoginThrottledError(RateLimitError):
    default_message = "Too many login attempts: try again later"


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    limiter: Limiter
    state: KeyValueStore
    settings: Settings

    @staticmethod
    def account_of(login: str, user_id: int | None) -> str:
        return f"user:{user_id}" if user_id is not None else f"login:{login.lower()}"

    def _windows(self, client: str, account: str) -> tuple[tuple[str, int, str], ...]:
        settings = self.settings
        return (
            (
                f"login:ip:{client}",
                settings.login_failures_per_minute_ip,
                "this address",
            ),
            (
                f"login:acct:{account}",
                settings.login_failures_per_minute_account,
                "this account",
            ),
        )

    async def check(self, *, client: str, account: str) -> None:
        """Raise ``LoginThrottledError`` when the address or the account has used
        up its failures of the last minute, or the account is locked."""
        try:
            locked_until = await self.state.get_json(_lock_key(account))
            if isinstance(locked_until, int | float):
                left = locked_until - time.time()
                if left > 0:
                    raise _throttled(left, "this account after failed logins")
            for key, limit, what in self._windows(client, account):
                result = await self.limiter.peek(key, limit_per_minute=limit)
                if not result.allowed:
                    raise _throttled(result.reset_after_s, what)
        except BackendUnavailableError:
            log.warning("login_throttle_unavailable")

    async def failed(self, *, client: str, account: str) -> None:
        """One more wrong password: counted for the address and the account;
        the account locked when past the threshold."""
        settings = self.settings
        try:
            for key, limit, _ in self._windows(client, account):
                await self.limiter.charge(key, limit_per_minute=limit, cost=1)
            found = await self.state.get_json(_failures_key(account))
            failures = (found if isinstance(found, int) else 0) + 1
            await self.state.set_json(
                _failures_key(account), failures, ttl_s=settings.login_failure_memory_s
            )
            beyond = failures - settings.login_free_failures
            if beyond > 0:
                lock_s = min(
                    settings.login_lockout_base_s * 2 ** min(beyond - 1, 32),
                    settings.login_lockout_max_s,
                )
                await self.state.set_max_deadline(
                    _lock_key(account), time.time() + lock_s
                )
                log.warning("login_locked", failures=failures, lock_s=lock_s)
        except BackendUnavailableError:
            log.warning("login_throttle_unavailable")

    async def succeeded(self, *, account: str) -> None:
        try:
            await self.state.delete(_failures_key(account))
            await self.state.delete(_lock_key(account))
        except BackendUnavailableError:
            log.warning("login_throttle_unavailable")


def _failures_key(account: str) -> str:
    return f"login:failures:{account}"


def _lock_key(account: str) -> str:
    return f"login:locked:{account}"


def _throttled(retry_after_s: float, who: str) -> LoginThrottledError:
    seconds = max(1, math.ceil(retry_after_s))
    return LoginThrottledError(
        f"Too many login attempts from {who}: retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )
