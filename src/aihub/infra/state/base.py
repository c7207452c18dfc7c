"""Small shared state (key pool health): JSON values under string keys."""

from __future__ import annotations

from typing import Any, Protocol


class KeyValueStore(Protocol):
    async def get_json(self, key: str) -> Any:
        """The stored value, or None when absent or expired."""

    async def set_json(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        """Store ``value`` (orjson); ``ttl_s`` None keeps it until deleted."""

    async def set_max_deadline(self, key: str, deadline_epoch_s: float) -> float:
        """Keep the later of the stored deadline and this one, atomically, and
        return the deadline now in force. The key vanishes at that deadline, so
        ``get_json`` reads it as a number (epoch seconds) until then, None after."""

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...
