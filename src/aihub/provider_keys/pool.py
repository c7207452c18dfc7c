"""The key pool: which provider key serves the next upstream call.

One ``KeyPool`` per process (the runtime's ``key_pool``): ``start()`` it, and
``close()`` it at shutdown.

    # one call, retried on the next key after 429/401/403/402:
    reply = await pool.call("openai", user_id=user.id, timeout_s=30,
                            fn=lambda lease: adapter.complete(lease.credentials, req))

    # a block: a ProviderError raised inside is reported and re-raised,
    # leaving it normally counts as a success:
    async with pool.lease("openai", user_id=user.id) as lease:
        reply = await adapter.complete(lease.credentials, req)

    # by hand (streaming: retry only while nothing reached the client):
    lease = await pool.acquire("openai", user_id=user.id, timeout_s=30)
    try:
        ...
    except ProviderError as exc:
        if not await lease.report(exc):   # True: another key may serve
            raise
    else:
        lease.success()

Outcomes: ``lease.rate_limited(retry_after_s)`` rests the key (Retry-After, else
30 s; a re-cooled key keeps the LATER deadline), ``auth_failed`` (401/403) and
``quota_exceeded`` (402, billing) put it aside as invalid until the probe sees it
work again, ``failed`` (5xx, timeouts) changes nothing, ``success`` records use.

Selection: a user's own active keys of the provider, or, when they have none
(not merely none usable), the global (admin) ones; round-robin among the usable
ones. When none is usable and some are only cooling down, ``acquire`` waits for
the first deadline if it falls within ``timeout_s`` (default 30 s), else raises
``rate_limit`` (429 with Retry-After). With no cooling key it raises ``billing``
(402) if any key is out of credit, else ``api_key_not_found`` (no key at all,
or every key rejected); all but "no key at all" log ``key_pool_empty``.

Hot path: the decrypted keys of each (user, provider) and every key's health are
cached in memory, so picking a key costs no database or Redis round trip. Edits
of keys (CHANGED_CHANNEL) and health changes of any process (HEALTH_CHANNEL) keep
the caches right; entries also expire after ``cache_ttl_s``. Health is shared in
the infra state store and mirrored to provider_keys rows off the hot path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.security import SecretBox
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events import EventBus, Listener, Message
from aihub.infra.state import KeyValueStore
from aihub.provider_keys import health
from aihub.provider_keys import service as keys_service
from aihub.provider_keys.errors import (
    NoProviderKeyError,
    ProviderKeysBillingError,
    ProviderKeysCoolingError,
    ProviderKeysRejectedError,
)
from aihub.provider_keys.health import Health
from aihub.provider_keys.keycache import Entry, KeyCache
from aihub.provider_keys.lease import Lease, PoolKey
from aihub.provider_keys.models import ProviderKey
from aihub.provider_keys.schemas import PoolKeyStatus
from aihub.provider_keys.writer import HealthWriter, RowHealth
from aihub.providers.base import ProviderError

__all__ = ["KeyPool", "Lease", "PoolKey"]

log = structlog.get_logger(__name__)

T = TypeVar("T")
WAKE_MARGIN_S = 0.01


class KeyPool:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        state: KeyValueStore,
        events: EventBus,
        default_wait_s: float = 30.0,
        default_cooldown_s: float = 30.0,
        max_cooldown_s: float = 3600.0,
        cache_ttl_s: float = 60.0,
        max_entries: int = 10_000,
        guarded_http: aiohttp.ClientSession | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._state = state
        self._events = events
        # Our own health news comes back over the bus, perhaps after a newer
        # change made here: this process applied it already, so echoes are skipped.
        self._origin = os.urandom(8).hex()
        self.default_wait_s = default_wait_s
        self.default_cooldown_s = default_cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self.guarded_http = guarded_http
        """The session of the outbound URL policy (users' keys, untrusted files)."""
        self._cache = KeyCache(
            sessionmaker=sessionmaker,
            box=box,
            on_row=self.load_health,
            ttl_s=cache_ttl_s,
            max_entries=max_entries,
            guarded_http=guarded_http,
        )
        self._health: dict[int, Health] = {}
        self._wakeup = asyncio.Event()
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Future[None]] = set()
        self.writer = HealthWriter(sessionmaker)

    async def start(self) -> None:
        self._listeners = [
            await self._events.listen(health.CHANGED_CHANNEL, self._on_changed),
            await self._events.listen(health.HEALTH_CHANNEL, self._on_health),
        ]
        self.writer.start()

    async def close(self) -> None:
        for listener in self._listeners:
            await listener.close()
        self._listeners = []
        self._cache.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.writer.close()

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self._sessionmaker

    # -- the caller's API ---------------------------------------------------------

    async def acquire(
        self, provider: str, *, user_id: int, timeout_s: float | None = None
    ) -> Lease:
        """A usable key of ``provider`` for ``user_id``; waits up to ``timeout_s``
        (default ``default_wait_s``) for a cooling key to come back."""
        wait_s = self.default_wait_s if timeout_s is None else max(0.0, timeout_s)
        deadline = time.monotonic() + wait_s
        refreshed = False
        while True:
            entry = await self._cache.keys_for(provider, user_id)
            if not entry.keys:
                raise NoProviderKeyError(provider)
            key = self._pick(entry, health.now())
            if key is not None:
                return Lease(self, key)
            if not refreshed:  # the mirror may be behind: ask the shared store once
                refreshed = True
                await self._refresh(entry.keys)
                continue
            await self._wait_or_fail(provider, user_id, entry, deadline)

    async def has_keys(self, provider: str, *, user_id: int) -> bool:
        """Whether the user may call ``provider`` at all (own or global keys),
        healthy or not: no database trip once cached."""
        entry = await self._cache.keys_for(provider, user_id)
        return bool(entry.keys)

    @asynccontextmanager
    async def lease(
        self, provider: str, *, user_id: int, timeout_s: float | None = None
    ) -> AsyncIterator[Lease]:
        lease = await self.acquire(provider, user_id=user_id, timeout_s=timeout_s)
        try:
            yield lease
        except ProviderError as exc:
            await lease.report(exc)
            raise
        lease.success()

    async def call(
        self,
        provider: str,
        *,
        user_id: int,
        fn: Callable[[Lease], Awaitable[T]],
        timeout_s: float | None = None,
    ) -> T:
        """Run ``fn`` with a key, moving to the next key after 429/401/403/402."""
        wait_s = self.default_wait_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait_s
        while True:
            remaining = max(0.0, deadline - time.monotonic())
            lease = await self.acquire(provider, user_id=user_id, timeout_s=remaining)
            try:
                result = await fn(lease)
            except ProviderError as exc:
                if not await lease.report(exc):
                    raise
                continue
            lease.success()
            return result

    async def pool_status(self, user_id: int) -> list[PoolKeyStatus]:
        """Seed 004's account list for GET /api/status: OK, WAIT (until), INVALID."""
        async with self._sessionmaker() as session:
            return await keys_service.pool_status(
                session, user_id=user_id, state=self._state
            )

    async def flush(self) -> None:
        """Write pending health to the database now (tests, shutdown)."""
        await self.writer.flush()

    def health_of(self, key_id: int) -> Health:
        """This process's view of a key's health (the mirror)."""
        return self._health.setdefault(key_id, Health())

    def pool_key(self, row: ProviderKey) -> PoolKey | None:
        return self._cache.pool_key(row)

    # -- selection ----------------------------------------------------------------

    def _pick(self, entry: Entry, now: float) -> PoolKey | None:
        count = len(entry.keys)
        for step in range(count):
            index = (entry.cursor + step) % count
            key = entry.keys[index]
            if self.health_of(key.id).is_usable(now):
                entry.cursor = index + 1
                return key
        return None

    async def _wait_or_fail(
        self, provider: str, user_id: int, entry: Entry, deadline: float
    ) -> None:
        now = health.now()
        states = [self.health_of(key.id) for key in entry.keys]
        cooling = [h.cool_until for h in states if h.invalid is None and h.cool_until]
        if cooling:
            wait = min(cooling) - now + WAKE_MARGIN_S
            if wait <= deadline - time.monotonic():
                await self._sleep_until_change(wait)
                return
            error: Exception = ProviderKeysCoolingError(provider, wait)
        elif any(h.invalid == health.REASON_BILLING for h in states):
            error = ProviderKeysBillingError(provider)
        else:
            error = ProviderKeysRejectedError(provider)
        log.warning(
            "key_pool_empty",
            provider=provider,
            user_id=user_id,
            keys=len(entry.keys),
            statuses=sorted(h.status(now) for h in states),
        )
        raise error

    async def _sleep_until_change(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when a key's health or the key list changes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=max(0.0, seconds))

    def _notify(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    # -- health ---------------------------------------------------------------------

    async def load_health(self, row: ProviderKey) -> Health:
        """Shared health completed by the row's; the row's restores a lost store."""
        stored = health.from_row(row.status, row.cooldown_until, row.last_error)
        self.writer.known(
            row.id, RowHealth(row.status, row.cooldown_until, row.last_error)
        )
        try:
            shared = await health.read(self._state, row.id)
            merged = health.merge(shared, stored)
            if shared.invalid is None and merged.invalid is not None:
                await health.mark_invalid(
                    self._state, row.id, merged.invalid, merged.error
                )
            until = merged.cool_until
            if (
                until is not None
                and until > health.now()
                and until != shared.cool_until
            ):
                await health.cool(self._state, row.id, until)
        except BackendUnavailableError:
            merged = stored
        self._health[row.id] = merged
        return merged

    async def _refresh(self, keys: tuple[PoolKey, ...]) -> None:
        for key in keys:
            try:
                shared = await health.read(self._state, key.id)
            except BackendUnavailableError:
                return
            mirror = self.health_of(key.id)
            mirror.invalid, mirror.cool_until = shared.invalid, shared.cool_until
            if shared.error is not None:
                mirror.error = shared.error

    # -- outcomes (called by Lease) -----------------------------------------------

    def succeeded(self, key: PoolKey) -> None:
        self.writer.record_use(key.id)
        mirror = self.health_of(key.id)
        if mirror.invalid is None and mirror.is_cooling(health.now()):
            return  # another call's 429 still stands
        self._health[key.id] = Health()
        self.writer.record(key.id, RowHealth("ok", None, None))
        if mirror.invalid is not None:  # it works after all: clear it everywhere
            self._spawn(self.restore(key.id))

    async def cool(
        self, key: PoolKey, retry_after_s: float | None, message: str | None
    ) -> None:
        seconds = self.default_cooldown_s
        if retry_after_s is not None and retry_after_s >= 0:
            seconds = min(max(retry_after_s, 1.0), self.max_cooldown_s)
        deadline = health.now() + seconds
        with contextlib.suppress(BackendUnavailableError):  # then rest it here only
            deadline = await health.cool(self._state, key.id, deadline)
        mirror = self.health_of(key.id)
        mirror.cool_until = max(mirror.cool_until or 0.0, deadline)
        mirror.error = health.describe(health.REASON_RATE_LIMITED, message)
        log.info(
            "provider_key_cooled_down",
            key_id=key.id,
            provider=key.provider,
            until=health.to_datetime(mirror.cool_until),
        )
        await self._announce(key.id, mirror)

    async def invalidate(self, key: PoolKey, reason: str, message: str | None) -> None:
        error = health.describe(reason, message)
        with contextlib.suppress(BackendUnavailableError):
            await health.mark_invalid(self._state, key.id, reason, error)
        mirror = self.health_of(key.id)
        mirror.invalid, mirror.error = reason, error
        log.warning(
            "provider_key_invalidated",
            key_id=key.id,
            provider=key.provider,
            reason=reason,
        )
        await self._announce(key.id, mirror)

    async def restore(self, key_id: int) -> None:
        """Back to ok everywhere (the probe, or a call, saw the key work)."""
        self._health[key_id] = Health()
        with contextlib.suppress(BackendUnavailableError):
            await health.clear(self._state, key_id)
        log.info("provider_key_restored", key_id=key_id)
        await self._announce(key_id, self._health[key_id])
        self._notify()

    async def _announce(self, key_id: int, current: Health) -> None:
        now = health.now()
        self.writer.record(key_id, _row_health(current, now))
        try:
            await self._events.publish(
                health.HEALTH_CHANNEL,
                {"key_id": key_id, "origin": self._origin, **current.message(now)},
            )
        except BackendUnavailableError:
            log.warning("provider_key_health_not_announced", key_id=key_id)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("provider_key_task_failed", error=str(task.exception()))

    # -- news from every process ----------------------------------------------------

    def _on_changed(self, _channel: str, message: Message) -> None:
        key_id, user_id = message.get("key_id"), message.get("user_id")
        scope_user = None if message.get("is_global") else user_id
        if scope_user is None or isinstance(scope_user, int):
            providers = [str(p) for p in message.get("providers") or ()]
            self._cache.invalidate(scope_user, providers)
        if isinstance(key_id, int) and message.get("reset"):
            self._health.pop(key_id, None)
            self.writer.forget(key_id)
        self._notify()

    def _on_health(self, _channel: str, message: Message) -> None:
        key_id = message.get("key_id")
        if message.get("origin") == self._origin:
            return
        if not isinstance(key_id, int) or key_id not in self._health:
            return
        update = health.from_message(message)
        mirror = self._health[key_id]
        if message.get("status") == "ok":
            self._health[key_id] = Health()
            self._notify()
        elif update.invalid is not None:
            mirror.invalid, mirror.error = update.invalid, update.error
        elif update.cool_until is not None:
            mirror.cool_until = max(mirror.cool_until or 0.0, update.cool_until)
            mirror.error = update.error
        self.writer.known(key_id, _row_health(self._health[key_id], health.now()))


def _row_health(current: Health, now: float) -> RowHealth:
    status = current.status(now)
    until = health.to_datetime(current.cool_until) if status == "cooldown" else None
    return RowHealth(status, until, current.error if status != "ok" else None)
