from __future__ import annotations

import asyncio

from aihub.infra import Infra, build_infra
from aihub.infra.cache import MemoryCache


async def test_set_value_is_returned_by_get(infra: Infra) -> None:
    await infra.cache.set("answer", b"forty-two", ttl_s=60)

    assert await infra.cache.get("answer") == b"forty-two"


async def test_missing_key_reads_as_none(infra: Infra) -> None:
    assert await infra.cache.get("never-set") is None


async def test_set_overwrites_previous_value(infra: Infra) -> None:
    await infra.cache.set("k", b"old", ttl_s=60)
    await infra.cache.set("k", b"new", ttl_s=60)

    assert await infra.cache.get("k") == b"new"


async def test_entry_expires_after_its_ttl(infra: Infra) -> None:
    await infra.cache.set("short", b"v", ttl_s=0.05)
    await infra.cache.set("long", b"v", ttl_s=60)

    await asyncio.sleep(0.2)

    assert await infra.cache.get("short") is None
    assert await infra.cache.get("long") == b"v"


async def test_delete_removes_entry(infra: Infra) -> None:
    await infra.cache.set("k", b"v", ttl_s=60)

    await infra.cache.delete("k")

    assert await infra.cache.get("k") is None


async def test_non_positive_ttl_stores_nothing(infra: Infra) -> None:
    await infra.cache.set("k", b"v", ttl_s=60)

    await infra.cache.set("k", b"w", ttl_s=0)

    assert await infra.cache.get("k") is None


async def test_binary_values_round_trip(infra: Infra) -> None:
    value = bytes(range(256))
    await infra.cache.set("bin", value, ttl_s=60)

    assert await infra.cache.get("bin") == value


async def test_peer_reads_what_was_cached(peers: tuple[Infra, Infra]) -> None:
    first, second = peers
    await first.cache.set("shared", b"v", ttl_s=60)

    assert await second.cache.get("shared") == b"v"


class TestMemoryBound:
    async def test_least_recently_used_entry_is_evicted(self) -> None:
        cache = MemoryCache(max_entries=2)
        await cache.set("a", b"1", ttl_s=60)
        await cache.set("b", b"2", ttl_s=60)
        await cache.get("a")  # a is now more recent than b

        await cache.set("c", b"3", ttl_s=60)

        assert len(cache) == 2
        assert await cache.get("b") is None
        assert await cache.get("a") == b"1"
        assert await cache.get("c") == b"3"

    async def test_bound_applies_through_build_infra(self) -> None:
        infra = await build_infra(None, cache_max_entries=3)
        try:
            for index in range(10):
                await infra.cache.set(f"k{index}", b"v", ttl_s=60)
            kept = [await infra.cache.get(f"k{index}") for index in range(10)]
        finally:
            await infra.close()

        assert kept == [None] * 7 + [b"v"] * 3
