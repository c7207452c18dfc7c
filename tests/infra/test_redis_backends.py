"""Redis-only behaviour: one pub/sub connection per process, server-side
cleanup, recovery from a dropped connection. Collected only with a Redis URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio
from structlog.testing import capture_logs

from aihub.infra import Infra, build_infra
from aihub.infra.cache.redis import RedisCache
from aihub.infra.events import Message
from aihub.infra.events.redis import RedisEventBus
from aihub.infra.limiter.fallback import FallbackLimiter
from aihub.infra.limiter.redis import RedisLimiter
from aihub.infra.state.redis import RedisKeyValueStore

from .conftest import REDIS_URL


@pytest.fixture
async def raw() -> AsyncIterator[redis_asyncio.Redis]:
    assert REDIS_URL is not None
    client = redis_asyncio.Redis.from_url(REDIS_URL)
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Infra, Infra]]:
    first, second = await build_infra(REDIS_URL), await build_infra(REDIS_URL)
    yield first, second
    await first.close()
    await second.close()


def _name(infra: Infra) -> str:
    assert infra.redis is not None
    return str(infra.redis.connection_pool.connection_kwargs["client_name"])


async def _connections(
    raw: redis_asyncio.Redis, infra: Infra, kind: str | None = None
) -> list[dict[str, str]]:
    clients = await (raw.client_list(_type=kind) if kind else raw.client_list())
    return [c for c in clients if c.get("name") == _name(infra)]


async def test_with_a_url_every_backend_is_redis(pair: tuple[Infra, Infra]) -> None:
    infra, _ = pair

    assert isinstance(infra.cache, RedisCache)
    assert isinstance(infra.events, RedisEventBus)
    # Redis limits, with a per-process limiter while Redis is away.
    assert isinstance(infra.limiter, FallbackLimiter)
    assert isinstance(infra.limiter._shared, RedisLimiter)
    assert isinstance(infra.state, RedisKeyValueStore)


async def test_keys_live_under_the_aihub_prefixes(
    pair: tuple[Infra, Infra], raw: redis_asyncio.Redis
) -> None:
    infra, _ = pair
    await infra.cache.set("c", b"v", ttl_s=60)
    await infra.state.set_json("s", 1)
    await infra.limiter.hit("gk:1", limit_per_minute=5)

    keys = [k.decode() if isinstance(k, bytes) else k for k in await raw.keys("*")]

    assert "aihub:cache:c" in keys
    assert "aihub:state:s" in keys
    assert any(k.startswith("aihub:limits:") for k in keys)
    assert all(k.startswith("aihub:") for k in keys)


async def test_one_pubsub_connection_serves_every_subscription(
    pair: tuple[Infra, Infra], raw: redis_asyncio.Redis
) -> None:
    infra, _ = pair
    async with (
        infra.events.subscribe("a") as _a,
        infra.events.subscribe("a") as _a2,
        infra.events.subscribe("b") as _b,
        infra.events.subscribe("media.job.*") as _p,
    ):
        await infra.events.listen("c", lambda channel, message: None)

        pubsub = await _connections(raw, infra, "pubsub")

    assert len(pubsub) == 1
    assert pubsub[0]["sub"] == "3"
    assert pubsub[0]["psub"] == "1"


async def test_last_local_unsubscribe_leaves_the_redis_channel(
    pair: tuple[Infra, Infra], raw: redis_asyncio.Redis
) -> None:
    infra, _ = pair
    database = raw.connection_pool.connection_kwargs.get("db", 0)
    channel = f"aihub:events:{database}:gone"
    async with infra.events.subscribe("gone"):
        async with infra.events.subscribe("gone"):
            during = dict(await raw.pubsub_numsub(channel))
        still = dict(await raw.pubsub_numsub(channel))

    after = dict(await raw.pubsub_numsub(channel))
    assert during[channel.encode()] == 1
    assert still[channel.encode()] == 1
    assert after[channel.encode()] == 0


async def test_events_stay_within_their_redis_database() -> None:
    """Pub/sub ignores the database number: the channel names carry it, so a
    deployment on database 1 never hears one on database 2 of the same server."""
    assert REDIS_URL is not None
    base = REDIS_URL.rsplit("/", 1)[0]
    one, two = await build_infra(f"{base}/14"), await build_infra(f"{base}/15")
    try:
        async with (
            one.events.subscribe("shared") as heard_by_one,
            two.events.subscribe("shared") as heard_by_two,
        ):
            await two.events.publish("shared", {"from": "two"})
            got = await asyncio.wait_for(heard_by_two.__anext__(), 5)
            assert got == {"from": "two"}
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(heard_by_one.__anext__(), 0.3)
    finally:
        await one.close()
        await two.close()


async def test_subscriptions_come_back_after_the_connection_drops(
    pair: tuple[Infra, Infra], raw: redis_asyncio.Redis
) -> None:
    receiver, publisher = pair
    async with receiver.events.subscribe("stream.stop") as messages:
        (connection,) = await _connections(raw, receiver, "pubsub")
        with capture_logs() as logs:
            await raw.client_kill_filter(_id=connection["id"])

            received = await _receive_once_back(publisher, messages)
        (reconnected,) = await _connections(raw, receiver, "pubsub")

    assert received is not None
    assert reconnected["id"] != connection["id"]
    assert "event_bus_reconnected" in [entry["event"] for entry in logs]


async def _receive_once_back(
    publisher: Infra, messages: AsyncIterator[Message]
) -> Message | None:
    for attempt in range(50):  # what is sent while it reconnects is lost
        await publisher.events.publish("stream.stop", {"attempt": attempt})
        try:
            async with asyncio.timeout(0.2):
                return await anext(messages)
        except TimeoutError:
            continue
    return None


async def test_close_ends_the_dispatcher_and_the_connections(
    raw: redis_asyncio.Redis,
) -> None:
    infra = await build_infra(REDIS_URL)
    async with infra.events.subscribe("ch"):
        await infra.cache.get("warm-up")
    assert await _connections(raw, infra)

    await infra.close()

    assert not [t for t in asyncio.all_tasks() if t.get_name() == "aihub-event-bus"]
    assert await _connections(raw, infra) == []
