"""In-process limiter: a storage of our own behind the ``limits`` library's
sliding-window-counter storage interface.

Why not the library's async ``MemoryStorage``: every increment spawns a task
that scans all counters, which costs O(number of limited keys) per request
(about 1 ms per hit with 5,000 keys, measured). This storage implements the
library's public storage interface with the same epoch-aligned windows, expires
counters lazily and sweeps them at most every ``sweep_interval_s``; it never
awaits inside a check-and-increment, so a hit is atomic on the event loop.
"""

from __future__ import annotations

import time
from math import floor

from limits.aio.storage import SlidingWindowCounterSupport, Storage
from limits.storage.base import TimestampedSlidingWindow

from aihub.infra.limiter.window import SlidingWindowLimiter


class CounterStorage(Storage, SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """Counters with an expiry, kept in one dict: key -> (count, expires_at)."""

    STORAGE_SCHEME = None  # not registered under a URI scheme

    def __init__(self, *, sweep_interval_s: float = 10.0) -> None:
        super().__init__(None)
        self._counters: dict[str, tuple[int, float]] = {}
        self._sweep_interval_s = sweep_interval_s
        self._next_sweep = time.time() + sweep_interval_s

    def __len__(self) -> int:
        return len(self._counters)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ()

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._incr(key, expiry, amount, time.time())

    async def get(self, key: str) -> int:
        return self._get(key, time.time())

    async def get_expiry(self, key: str) -> float:
        now = time.time()
        entry = self._counters.get(key)
        return entry[1] if entry is not None and entry[1] > now else now

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._counters)
        self._counters.clear()
        return count

    async def clear(self, key: str) -> None:
        self._counters.pop(key, None)

    async def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        if amount > limit:
            return False
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous, previous_ttl, current, _ = self._window(
            previous_key, current_key, expiry, now
        )
        if floor(previous * previous_ttl / expiry + current) + amount > limit:
            return False
        self._incr(current_key, 2 * expiry, amount, now)
        return True

    async def get_sliding_window(
        self, key: str, expiry: int
    ) -> tuple[int, float, int, float]:
        now = time.time()
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        return self._window(previous_key, current_key, expiry, now)

    async def clear_sliding_window(self, key: str, expiry: int) -> None:
        for name in self.sliding_window_keys(key, expiry, time.time()):
            self._counters.pop(name, None)

    def _window(
        self, previous_key: str, current_key: str, expiry: int, now: float
    ) -> tuple[int, float, int, float]:
        """The same figures as the library's MemoryStorage computes."""
        previous = self._get(previous_key, now)
        current = self._get(current_key, now)
        previous_ttl = 0.0
        if previous:
            previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return previous, previous_ttl, current, current_ttl

    def _get(self, key: str, now: float) -> int:
        entry = self._counters.get(key)
        if entry is None:
            return 0
        if entry[1] <= now:
            del self._counters[key]
            return 0
        return entry[0]

    def _incr(self, key: str, expiry: float, amount: int, now: float) -> int:
        if now >= self._next_sweep:
            self._sweep(now)
        entry = self._counters.get(key)
        if entry is None or entry[1] <= now:
            entry = (amount, now + expiry)
        else:
            entry = (entry[0] + amount, entry[1])
        self._counters[key] = entry
        return entry[0]

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self._sweep_interval_s
        expired = [key for key, (_, until) in self._counters.items() if until <= now]
        for key in expired:
            del self._counters[key]


class MemoryLimiter(SlidingWindowLimiter):
    def __init__(self, *, window_s: int = 60) -> None:
        self._counters = CounterStorage()
        super().__init__(self._counters, window_s=window_s)

    async def close(self) -> None:
        await self._counters.reset()
        await super().close()
