"""In-process state: a dict of JSON bytes with optional expiry (epoch seconds)."""

from __future__ import annotations

import time
from typing import Any

import orjson

SWEEP_EVERY_WRITES = 1000


class MemoryKeyValueStore:
    def __init__(self) -> None:
        # key -> (JSON bytes, expires_at epoch seconds or None)
        self._entries: dict[str, tuple[bytes, float | None]] = {}
        self._writes = 0

    async def get_json(self, key: str) -> Any:
        entry = self._live(key, time.time())
        return orjson.loads(entry[0]) if entry is not None else None

    async def set_json(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        expires_at = None if ttl_s is None else time.time() + ttl_s
        self._put(key, orjson.dumps(value), expires_at)

    async def set_max_deadline(self, key: str, deadline_epoch_s: float) -> float:
        entry = self._live(key, time.time())
        if entry is not None:
            current = orjson.loads(entry[0])
            if isinstance(current, int | float) and current >= deadline_epoch_s:
                return float(current)
        self._put(key, orjson.dumps(deadline_epoch_s), deadline_epoch_s)
        return deadline_epoch_s

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def close(self) -> None:
        self._entries.clear()

    def _live(self, key: str, now: float) -> tuple[bytes, float | None] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[1] is not None and entry[1] <= now:
            del self._entries[key]
            return None
        return entry

    def _put(self, key: str, data: bytes, expires_at: float | None) -> None:
        self._entries[key] = (data, expires_at)
        self._writes += 1
        if self._writes % SWEEP_EVERY_WRITES == 0:
            now = time.time()
            for name in [k for k, (_, t) in self._entries.items() if t and t <= now]:
                del self._entries[name]
