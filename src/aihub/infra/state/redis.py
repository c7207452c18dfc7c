"""Redis state under ``aihub:state:``; the deadline update is one Lua script."""

from __future__ import annotations

from typing import Any

import orjson
import structlog

from aihub.infra.errors import BackendUnavailableError
from aihub.infra.redis_client import REDIS_ERRORS, RedisClient

log = structlog.get_logger(__name__)

PREFIX = "aihub:state:"

# KEYS[1] the deadline key; ARGV[1] the new deadline (epoch seconds, as text),
# ARGV[2] the same in integer milliseconds for PXAT. Returns the deadline in force.
MAX_DEADLINE_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) and tonumber(current) >= tonumber(ARGV[1]) then
  return current
end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
return ARGV[1]
"""


class RedisKeyValueStore:
    def __init__(self, client: RedisClient, *, prefix: str = PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._max_deadline = client.register_script(MAX_DEADLINE_SCRIPT)

    async def get_json(self, key: str) -> Any:
        try:
            data = await self._client.get(self._prefix + key)
        except REDIS_ERRORS as exc:
            raise _unavailable("state_get_failed", exc) from exc
        return orjson.loads(data) if data is not None else None

    async def set_json(self, key: str, value: Any, ttl_s: float | None = None) -> None:
        data = orjson.dumps(value)
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        try:
            await self._client.set(self._prefix + key, data, px=px)
        except REDIS_ERRORS as exc:
            raise _unavailable("state_set_failed", exc) from exc

    async def set_max_deadline(self, key: str, deadline_epoch_s: float) -> float:
        deadline_ms = max(1, int(deadline_epoch_s * 1000))
        args: list[str | int] = [repr(float(deadline_epoch_s)), deadline_ms]
        try:
            result = await self._max_deadline(keys=[self._prefix + key], args=args)
        except REDIS_ERRORS as exc:
            raise _unavailable("state_deadline_failed", exc) from exc
        return float(result)

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete(self._prefix + key)
        except REDIS_ERRORS as exc:
            raise _unavailable("state_delete_failed", exc) from exc

    async def close(self) -> None:
        """Nothing of its own to release: the client belongs to the Infra."""


def _unavailable(event: str, exc: Exception) -> BackendUnavailableError:
    log.warning(event, error=str(exc))
    return BackendUnavailableError()
