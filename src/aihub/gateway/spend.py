"""What gateway keys spend, seen by every process, and written to the database
off the request path.

Two figures per key:

- the running total every process sees, for budget checks: in Redis (when
  configured) one float per key, ``aihub:gateway:spend:<id>``, moved by an
  atomic INCRBYFLOAT (a Lua script that first seeds a missing counter from what
  this process knows); in-process otherwise, a dict. The counter is seeded from
  the database (SET NX) whenever a process loads the key, so it starts from the
  stored spend and both then grow by the same amounts.
- the delta not yet written: per process, summed in memory and added to
  ``gateway_keys.spend_usd`` by a flusher task every ``flush_interval_s``
  (and once more on close), together with ``last_used_at``.

Why not the state store or the limiter: the state store has no atomic
increment, and the limiter's counters are windows that fade.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.tasks import cancel_requested
from aihub.gateway.keys import repository
from aihub.infra.errors import redis_errors

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

log = structlog.get_logger(__name__)

PREFIX = "aihub:gateway:spend:"
COUNTER_TTL_S = 30 * 24 * 3600
"""A counter nobody moved for this long goes; the next load seeds it again."""

# KEYS[1] the counter; ARGV[1] the amount, ARGV[2] the seed when missing,
# ARGV[3] the ttl in seconds. Returns the new total (a string).
ADD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SET', KEYS[1], ARGV[2])
end
local total = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return total
"""


class SpendLedger:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: RedisClient | None,
        flush_interval_s: float = 1.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._redis = redis
        self._add_script = redis.register_script(ADD_SCRIPT) if redis else None
        self._flush_interval_s = flush_interval_s
        self._totals: dict[int, float] = {}
        """In-process totals (no Redis) and the last total seen (Redis)."""
        self._pending: dict[int, float] = {}
        self._used: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()

    # -- the running total ---------------------------------------------------

    async def seed(self, key_id: int, stored: float) -> None:
        """Start the shared total at the database's figure unless it runs."""
        if self._redis is None:
            self._totals.setdefault(key_id, stored)
            return
        self._totals[key_id] = stored
        try:
            await self._redis.set(
                PREFIX + str(key_id), repr(stored), nx=True, ex=COUNTER_TTL_S
            )
        except redis_errors() as exc:
            log.warning("gateway_spend_seed_failed", key_id=key_id, error=str(exc))

    async def total(self, key_id: int, fallback: float) -> float:
        """The spend of the key across every process (``fallback`` if unknown;
        with Redis away, the last figure this process saw)."""
        if self._redis is None:
            return self._totals.get(key_id, fallback)
        try:
            value = await self._redis.get(PREFIX + str(key_id))
        except redis_errors() as exc:
            log.warning("gateway_spend_read_failed", key_id=key_id, error=str(exc))
            return self._totals.get(key_id, fallback)
        if value is None:
            return self._totals.get(key_id, fallback)
        total = float(value)
        self._totals[key_id] = total
        return total

    async def add(self, key_id: int, cost: float, *, seed: float) -> None:
        """Charge ``cost``: shared at once, written to the database soon."""
        if cost <= 0:
            return
        self._pending[key_id] = self._pending.get(key_id, 0.0) + cost
        if self._redis is None or self._add_script is None:
            self._totals[key_id] = self._totals.get(key_id, seed) + cost
            return
        try:
            total = await self._add_script(
                keys=[PREFIX + str(key_id)],
                args=[repr(cost), repr(self._totals.get(key_id, seed)), COUNTER_TTL_S],
            )
        except redis_errors() as exc:
            log.warning("gateway_spend_share_failed", key_id=key_id, error=str(exc))
            self._totals[key_id] = self._totals.get(key_id, seed) + cost
            return
        self._totals[key_id] = float(total)

    def live(self, key_id: int) -> float | None:
        """This process's last figure for the key (None: never seen)."""
        return self._totals.get(key_id)

    async def totals(self, key_ids: Iterable[int]) -> dict[int, float]:
        """Shared totals of several keys (those with a running counter)."""
        ids = list(key_ids)
        if not ids:
            return {}
        if self._redis is None:
            return {k: self._totals[k] for k in ids if k in self._totals}
        from aihub.infra.redis_client import is_cluster  # loaded with the client

        try:
            names = [PREFIX + str(k) for k in ids]
            if is_cluster(self._redis):
                # One counter per key, each in its own slot: one MGET per node.
                values = await self._redis.mget_nonatomic(names)
            else:
                values = await self._redis.mget(names)
        except redis_errors() as exc:
            log.warning("gateway_spend_read_failed", error=str(exc))
            return {}
        return {k: float(v) for k, v in zip(ids, values, strict=True) if v is not None}

    # -- last use ------------------------------------------------------------

    def touch(self, key_id: int) -> None:
        """The key was used now (written with the next flush)."""
        self._used[key_id] = time.time()

    # -- the flusher ---------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="aihub-gateway-spend")

    async def close(self) -> None:
        """Stop the flusher and write what is left."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def _run(self) -> None:
        while not cancel_requested():
            await asyncio.sleep(self._flush_interval_s)
            await self.flush()

    async def flush(self) -> None:
        """Write pending spend and last use; on failure keep them for next time."""
        async with self._flush_lock:
            if not (self._pending or self._used):
                return
            pending, self._pending = self._pending, {}
            used, self._used = self._used, {}
            usage = {
                key_id: (
                    pending.get(key_id, 0.0),
                    datetime.fromtimestamp(used[key_id], UTC)
                    if key_id in used
                    else None,
                )
                for key_id in pending.keys() | used.keys()
            }
            try:
                async with self._sessionmaker() as session:
                    await repository.add_usage(session, usage=usage)
                    await session.commit()
            except (SQLAlchemyError, OSError) as exc:
                log.warning(
                    "gateway_spend_flush_failed", keys=len(usage), error=str(exc)
                )
                for key_id, delta in pending.items():
                    self._pending[key_id] = self._pending.get(key_id, 0.0) + delta
                for key_id, at in used.items():
                    self._used[key_id] = max(at, self._used.get(key_id, at))


def _utc(epoch_s: float | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)
