from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest

from aihub.infra import Infra, build_infra
from aihub.infra.cache import MemoryCache
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events import MemoryEventBus
from aihub.infra.limiter import FallbackLimiter, MemoryLimiter
from aihub.infra.state import MemoryKeyValueStore


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_without_a_url_every_backend_is_in_process() -> None:
    infra = await build_infra(None)
    try:
        assert isinstance(infra.cache, MemoryCache)
        assert isinstance(infra.events, MemoryEventBus)
        assert isinstance(infra.limiter, MemoryLimiter)
        assert isinstance(infra.state, MemoryKeyValueStore)
        assert infra.redis is None
    finally:
        await infra.close()


class TestRedisAway:
    """A Redis that does not answer: the cache degrades to misses, the rest
    raises a 503-mapped error the caller can act on; nothing hangs."""

    @pytest.fixture
    async def infra_without_redis(self) -> AsyncIterator[Infra]:
        infra = await build_infra(f"redis://127.0.0.1:{_closed_port()}/0")
        yield infra
        await infra.close()

    async def test_cache_reads_miss_and_writes_are_dropped(
        self, infra_without_redis: Infra
    ) -> None:
        await infra_without_redis.cache.set("k", b"v", ttl_s=60)

        assert await infra_without_redis.cache.get("k") is None

    async def test_publish_and_state_raise_unavailable(
        self, infra_without_redis: Infra
    ) -> None:
        with pytest.raises(BackendUnavailableError):
            await infra_without_redis.events.publish("ch", {"n": 1})
        with pytest.raises(BackendUnavailableError):
            await infra_without_redis.state.set_max_deadline("cool:1", 1.0)


class TestLimiterWithoutRedis:
    """Limits never switch off: with Redis away they hold per process."""

    async def test_limits_hold_per_process_while_redis_is_away(self) -> None:
        infra = await build_infra(f"redis://127.0.0.1:{_closed_port()}/0")
        try:
            limiter = infra.limiter
            results = [await limiter.hit("gk:1", limit_per_minute=5) for _ in range(7)]
            assert [r.allowed for r in results] == [True] * 5 + [False] * 2
            assert results[-1].reset_after_s > 0
            assert isinstance(limiter, FallbackLimiter)
            assert limiter.degraded
            tokens = await limiter.charge("tpm:1", limit_per_minute=100, cost=150)
            assert not tokens.allowed
            peek = await limiter.peek("tpm:1", limit_per_minute=100, cost=1)
            assert not peek.allowed
        finally:
            await infra.close()
