"""Each process's cache of gateway keys by hash, so a hot request authenticates
without a database round trip.

Filled on a miss (one query per hash however many requests wait for it),
dropped for a key or a user when a change arrives on the event bus (any
process), and after ``ttl_s`` as a safety net. Rejections (unknown, revoked,
expired, owner inactive) are cached too, for a shorter time, so a flood of bad
keys does not reach the database. Bounded: the oldest entries go first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aihub.gateway.caller import KeyPolicy


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """An active key, or a rejection when ``policy`` is None."""

    policy: KeyPolicy | None
    key_id: int | None = None
    """Known for a stored key, even a rejected one (so an edit can drop it)."""
    user_id: int | None = None
    is_admin: bool = False
    expires_at: float | None = None
    """Epoch seconds after which the key is refused."""
    stored_spend: float = 0.0
    """spend_usd as loaded (seeds the shared total)."""
    team_spend: float = 0.0
    """The key's team's spend this month as loaded (seeds the team's total)."""


REJECTED = KeyEntry(None)

Loader = Callable[[str], Awaitable[KeyEntry]]


class GatewayKeyCache:
    def __init__(
        self,
        loader: Loader,
        *,
        ttl_s: float = 60.0,
        rejected_ttl_s: float = 10.0,
        max_entries: int = 10_000,
    ) -> None:
        self._loader = loader
        self._ttl_s = ttl_s
        self._rejected_ttl_s = rejected_ttl_s
        self._max_entries = max_entries
        self._entries: dict[str, tuple[KeyEntry, float]] = {}
        self._by_key: dict[int, str] = {}
        self._fills: dict[str, asyncio.Future[KeyEntry]] = {}
        self._generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key_hash: str) -> KeyEntry:
        cached = self._entries.get(key_hash)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        fill = self._fills.get(key_hash)
        if fill is None:  # one load per hash, however many callers wait for it
            fill = asyncio.ensure_future(self._fill(key_hash))
            self._fills[key_hash] = fill
            fill.add_done_callback(lambda done: self._fill_done(key_hash, done))
        return await asyncio.shield(fill)

    def drop_key(self, key_id: int) -> None:
        self._generation += 1  # a load under way now may have read old rows
        key_hash = self._by_key.pop(key_id, None)
        if key_hash is not None:
            self._entries.pop(key_hash, None)

    def drop_user(self, user_id: int) -> None:
        self._generation += 1
        for key_hash, (entry, _) in list(self._entries.items()):
            if entry.user_id == user_id:
                self._forget(key_hash, entry)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._by_key.clear()

    def close(self) -> None:
        for fill in list(self._fills.values()):
            fill.cancel()

    async def _fill(self, key_hash: str) -> KeyEntry:
        generation = self._generation
        entry = await self._loader(key_hash)
        if generation == self._generation:
            self._store(key_hash, entry)
        return entry

    def _fill_done(self, key_hash: str, fill: asyncio.Future[KeyEntry]) -> None:
        if self._fills.get(key_hash) is fill:
            del self._fills[key_hash]
        if not fill.cancelled():
            fill.exception()  # the waiting callers got it; do not log it twice

    def _store(self, key_hash: str, entry: KeyEntry) -> None:
        old = self._entries.pop(key_hash, None)
        if old is not None:
            self._forget(key_hash, old[0])
        ttl = self._ttl_s if entry.policy is not None else self._rejected_ttl_s
        self._entries[key_hash] = (entry, time.monotonic() + ttl)
        if entry.key_id is not None:
            self._by_key[entry.key_id] = key_hash
        while len(self._entries) > self._max_entries:
            oldest = next(iter(self._entries))
            self._forget(oldest, self._entries[oldest][0])

    def _forget(self, key_hash: str, entry: KeyEntry) -> None:
        self._entries.pop(key_hash, None)
        if entry.key_id is not None and self._by_key.get(entry.key_id) == key_hash:
            del self._by_key[entry.key_id]
