"""The one key loop: every door's provider call goes through it.

    result = await call_with_keys(pool, "openai", user_id=7, policy=policy,
                                  fn=lambda lease: adapter.complete(...))
    async for chunk in stream_with_keys(pool, "openai", user_id=7, policy=policy,
                                        open_stream=lambda lease: adapter.stream(...)):
        ...

On a ``ProviderError`` the lease reports it (the pool rests a 429's key, sets
aside a 401/403/402's, records a 5xx), then:

- the pool has another key for it (429, 401/403, 402): the call moves on to it;
- a retryable failure (5xx, timeout, connection error): tried again after the
  policy's backoff, ``policy.retries`` times, on whichever key the pool lends;
- anything else, or nothing left: raised for the caller (and its fallbacks).

Nothing is retried once the call is committed: a streamed item reached the
caller, or ``committed()`` says so (a media job the provider accepted).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import structlog

from aihub.calls.retry import RetryPolicy
from aihub.provider_keys.lease import Lease
from aihub.provider_keys.pool import KeyPool
from aihub.providers.errors import ProviderError

log = structlog.get_logger(__name__)

T = TypeVar("T")

OnLease = Callable[[Lease], None]


def deadline_after(wait_s: float | None) -> float | None:
    return None if wait_s is None else time.monotonic() + wait_s


def left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


async def backoff(
    policy: RetryPolicy, retry: int, *, target: str, error: Exception
) -> None:
    delay = policy.delay(retry)
    log.info(
        "upstream_retry",
        target=target,
        attempt=retry,
        delay_s=round(delay, 3),
        error=str(error),
    )
    await asyncio.sleep(delay)


async def _should_retry(
    lease: Lease,
    exc: ProviderError,
    *,
    committed: bool,
    retries: int,
    policy: RetryPolicy,
) -> str | None:
    """``"key"`` (another key), ``"retry"`` (after a backoff) or None (raise)."""
    another_key = await lease.report(exc)
    if committed:
        return None
    if another_key:
        return "key"
    if exc.retryable and retries < policy.retries:
        return "retry"
    return None


async def call_with_keys(
    pool: KeyPool,
    provider: str,
    *,
    user_id: int,
    fn: Callable[[Lease], Awaitable[T]],
    policy: RetryPolicy,
    wait_s: float | None = None,
    committed: Callable[[], bool] | None = None,
    on_lease: OnLease | None = None,
    target: str | None = None,
) -> T:
    """``fn`` with a pooled key of ``provider`` until it succeeds or may not
    be tried again; ``wait_s`` bounds the whole wait for a cooling key."""
    result, lease = await open_with_keys(
        pool,
        provider,
        user_id=user_id,
        fn=fn,
        policy=policy,
        wait_s=wait_s,
        committed=committed,
        on_lease=on_lease,
        target=target,
    )
    lease.success()
    return result


async def open_with_keys(
    pool: KeyPool,
    provider: str,
    *,
    user_id: int,
    fn: Callable[[Lease], Awaitable[T]],
    policy: RetryPolicy,
    wait_s: float | None = None,
    committed: Callable[[], bool] | None = None,
    on_lease: OnLease | None = None,
    on_backoff: Callable[[float], None] | None = None,
    target: str | None = None,
) -> tuple[T, Lease]:
    """As ``call_with_keys``, but the outcome of the returned lease is the
    caller's to report (a forwarded reply whose body is still to come)."""
    deadline = deadline_after(wait_s)
    retries = 0
    while True:
        lease = await pool.acquire(provider, user_id=user_id, timeout_s=left(deadline))
        if on_lease is not None:
            on_lease(lease)
        try:
            result = await fn(lease)
        except ProviderError as exc:
            step = await _should_retry(
                lease,
                exc,
                committed=committed is not None and committed(),
                retries=retries,
                policy=policy,
            )
            if step is None:
                raise
            if step == "retry":
                retries += 1
                waited = time.monotonic()
                await backoff(policy, retries, target=target or provider, error=exc)
                if on_backoff is not None:
                    on_backoff(time.monotonic() - waited)
            continue
        return result, lease


async def stream_with_keys(
    pool: KeyPool,
    provider: str,
    *,
    user_id: int,
    open_stream: Callable[[Lease], AsyncIterator[T]],
    policy: RetryPolicy,
    wait_s: float | None = None,
    on_lease: OnLease | None = None,
    target: str | None = None,
) -> AsyncIterator[T]:
    """The items of ``open_stream(lease)``; retried (another key, or after a
    backoff) only while none has reached the caller."""
    deadline = deadline_after(wait_s)
    retries = 0
    while True:
        lease = await pool.acquire(provider, user_id=user_id, timeout_s=left(deadline))
        if on_lease is not None:
            on_lease(lease)
        sent = False
        stream = open_stream(lease)
        try:
            async for item in stream:
                sent = True
                yield item
        except ProviderError as exc:
            step = await _should_retry(
                lease, exc, committed=sent, retries=retries, policy=policy
            )
            if step is None:
                raise
            if step == "retry":
                retries += 1
                await backoff(policy, retries, target=target or provider, error=exc)
            continue
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        lease.success()
        return
