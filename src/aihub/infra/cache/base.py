"""The cache interface: opaque bytes under a string key, with a time to live."""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    """Best effort: a backend failure reads as a miss and a write is dropped."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...
