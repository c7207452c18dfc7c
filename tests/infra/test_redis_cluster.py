"""Every Redis use of aihub against a real local Redis Cluster (3 masters, started
and stopped here) and a real Sentinel set-up (a master and one sentinel).

Collected in the Redis pass of ``make test`` (a plain ``redis://`` test URL)
and by ``make test-cluster`` (``AIHUB_TEST_CLUSTER=1``); skipped without
``redis-server`` and ``redis-cli``. About 15-25 s, most of it starting the
servers and the whole-cluster outage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis_asyncio
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from sqlalchemy.ext.asyncio import async_sessionmaker
from taskiq import BrokerMessage

from aihub.gateway.spend import SpendLedger
from aihub.infra import Infra, build_infra
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.redis_client import (
    build_redis_client,
    close_client,
    flush,
)
from aihub.media.queue import PRIORITIES
from aihub.media.redis_broker import RedisPriorityBroker
from tests.redis_cluster import RedisClusterServers, SentinelServers, available

pytestmark = pytest.mark.skipif(
    not available(), reason="redis-server and redis-cli are needed"
)


# -- a real cluster -----------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    servers = RedisClusterServers(tmp_path_factory.mktemp("cluster"))
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()


@pytest.fixture
async def raw(cluster: RedisClusterServers) -> AsyncIterator[RedisCluster]:
    client = build_redis_client(cluster.url())
    assert isinstance(client, RedisCluster)
    await client.initialize()  # the slot map, for get_node_from_key
    yield client
    await flush(client)
    await close_client(client)


@pytest.fixture
async def pair(cluster: RedisClusterServers) -> AsyncIterator[tuple[Infra, Infra]]:
    """Two Infra on the cluster: what two aihub processes would hold."""
    first = await build_infra(cluster.url())
    second = await build_infra(cluster.url())
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
async def sharded_pair(
    cluster: RedisClusterServers,
) -> AsyncIterator[tuple[Infra, Infra]]:
    """The same with ``?pubsub=sharded``: the bus on SPUBLISH/SSUBSCRIBE."""
    first = await build_infra(cluster.url() + "?pubsub=sharded")
    second = await build_infra(cluster.url() + "?pubsub=sharded")
    yield first, second
    await first.close()
    await second.close()


def _owners(client: RedisCluster, names: list[str]) -> set[str]:
    nodes = [client.get_node_from_key(name) for name in names]
    return {node.name for node in nodes if node is not None}


async def test_the_client_is_a_cluster_client_seeded_with_every_node(
    cluster: RedisClusterServers, raw: RedisCluster
) -> None:
    await raw.ping()
    assert len(raw.get_primaries()) == 3
    assert {n.port for n in raw.get_primaries()} == {n.port for n in cluster.nodes}


async def test_events_use_sharded_pubsub_across_nodes(
    sharded_pair: tuple[Infra, Infra], raw: RedisCluster
) -> None:
    receiver, publisher = sharded_pair
    names = [f"chat.run.{i}" for i in range(12)]
    prefixed = [f"aihub:events:0:{n}" for n in names]
    assert len(_owners(raw, prefixed)) > 1  # the channels span several nodes
    async with asyncio.timeout(10):
        subscriptions = [receiver.events.subscribe(n) for n in names]
        streams = [await s.__aenter__() for s in subscriptions]
        try:
            # SSUBSCRIBE, not SUBSCRIBE: each channel is known to its owner only.
            for name in prefixed:
                node = raw.get_node_from_key(name)
                shard = dict(await raw.pubsub_shardnumsub(name, target_nodes=node))
                plain = dict(await raw.pubsub_numsub(name, target_nodes=node))
                assert shard[name.encode()] == 1
                assert plain[name.encode()] == 0
            for i, name in enumerate(names):
                await publisher.events.publish(name, {"n": i})
            got = [await anext(stream) for stream in streams]
        finally:
            for s in subscriptions:
                await s.__aexit__(None, None, None)
    assert got == [{"n": i} for i in range(12)]
    node = raw.get_node_from_key(prefixed[0])
    after = dict(await raw.pubsub_shardnumsub(prefixed[0], target_nodes=node))
    assert after[prefixed[0].encode()] == 0  # the last local member left


@pytest.mark.parametrize("bus", ["classic", "sharded"])
async def test_listeners_hear_a_peer_on_the_cluster(
    pair: tuple[Infra, Infra], sharded_pair: tuple[Infra, Infra], bus: str
) -> None:
    receiver, publisher = pair if bus == "classic" else sharded_pair
    heard: list[tuple[str, dict[str, object]]] = []
    arrived = asyncio.Event()

    def on_stop(channel: str, message: dict[str, object]) -> None:
        heard.append((channel, message))
        arrived.set()

    listener = await receiver.events.listen("chat.stop", on_stop)
    try:
        await publisher.events.publish("chat.stop", {"run_id": "r1"})
        async with asyncio.timeout(5):
            await arrived.wait()
    finally:
        await listener.close()
    assert heard == [("chat.stop", {"run_id": "r1"})]


async def test_classic_bus_on_a_cluster_hears_every_node_and_has_patterns(
    pair: tuple[Infra, Infra],
) -> None:
    """The default: classic pub/sub, which the cluster broadcasts, so a
    subscriber on one node hears a publisher whose command went to another."""
    receiver, publisher = pair
    async with receiver.events.subscribe("media.job.*") as messages:
        for n in range(6):
            await publisher.events.publish(f"media.job.{n}", {"n": n})
        async with asyncio.timeout(5):
            got = [await anext(messages) for _ in range(6)]
    # Each channel's messages keep their order; across channels (published
    # through different nodes) the cluster bus may deliver in any order.
    assert sorted(m["n"] for m in got) == list(range(6))


async def test_pattern_subscriptions_are_refused_on_sharded_pubsub(
    sharded_pair: tuple[Infra, Infra],
) -> None:
    receiver, _ = sharded_pair
    with pytest.raises(ValueError, match="pattern subscriptions"):
        async with receiver.events.subscribe("media.job.*"):
            pass
    with pytest.raises(ValueError, match="pattern subscriptions"):
        await receiver.events.listen("media.job.*", lambda c, m: None)
    assert receiver.events.subscriber_count("media.job.*") == 0


async def test_limits_are_shared_by_two_processes(pair: tuple[Infra, Infra]) -> None:
    first, second = pair
    for key in ("gw:key:1", "gw:key:2", "gw:key:3"):  # different slots
        assert (await first.limiter.hit(key, limit_per_minute=3)).allowed
        assert (await second.limiter.hit(key, limit_per_minute=3)).allowed
        assert (await first.limiter.hit(key, limit_per_minute=3)).allowed
        denied = await second.limiter.hit(key, limit_per_minute=3)
        assert not denied.allowed
        assert denied.remaining == 0


async def test_limiter_keys_share_a_hash_tag(
    pair: tuple[Infra, Infra], raw: RedisCluster
) -> None:
    first, _ = pair
    await first.limiter.hit("gw:key:9", limit_per_minute=5)
    await asyncio.sleep(0)
    found = await raw.keys("*gw:key:9*", target_nodes="all")
    keys = [k.decode() if isinstance(k, bytes) else k for k in found]
    assert keys
    assert all("{" in k for k in keys)
    assert len({key_slot(k.encode()) for k in keys}) == 1


async def test_state_and_cache_on_the_cluster(pair: tuple[Infra, Infra]) -> None:
    first, second = pair
    await first.state.set_json("chat:run:1", {"owner": "a"}, ttl_s=30)
    assert await second.state.get_json("chat:run:1") == {"owner": "a"}
    assert await first.state.set_max_deadline("chat:deadline:1", 2e9) == 2e9
    assert await second.state.set_max_deadline("chat:deadline:1", 1e9) == 2e9
    await first.cache.set("voice:abc", b"\x00audio", ttl_s=30)
    assert await second.cache.get("voice:abc") == b"\x00audio"
    await second.cache.delete("voice:abc")
    assert await first.cache.get("voice:abc") is None


async def test_spend_totals_are_read_across_slots(
    pair: tuple[Infra, Infra], raw: RedisCluster
) -> None:
    first, second = pair
    unused: async_sessionmaker = async_sessionmaker()  # type: ignore[type-arg]
    one = SpendLedger(sessionmaker=unused, redis=first.redis)
    two = SpendLedger(sessionmaker=unused, redis=second.redis)
    ids = list(range(1, 21))
    assert len(_owners(raw, [f"aihub:gateway:spend:{i}" for i in ids])) > 1
    for key_id in ids:
        await one.seed(key_id, 1.0)
        await one.add(key_id, 0.25, seed=1.0)
        await two.add(key_id, 0.5, seed=1.0)
    totals = await two.totals([*ids, 999])
    assert totals == {key_id: 1.75 for key_id in ids}
    assert await one.total(7, fallback=0.0) == 1.75


@pytest.fixture
async def brokers(
    cluster: RedisClusterServers, raw: RedisCluster
) -> AsyncIterator[tuple[RedisPriorityBroker, RedisPriorityBroker]]:
    sender, worker = (
        RedisPriorityBroker(cluster.url()),
        RedisPriorityBroker(cluster.url()),
    )
    yield sender, worker
    await sender.shutdown()
    await worker.shutdown()


def _message(job_id: int, priority: str) -> BrokerMessage:
    return BrokerMessage(
        task_id=str(job_id),
        task_name="aihub.media.run_job",
        message=str(job_id).encode(),
        labels={"priority": PRIORITIES[priority]},
    )


async def test_media_queue_pops_by_priority_on_the_cluster(
    brokers: tuple[RedisPriorityBroker, RedisPriorityBroker], raw: RedisCluster
) -> None:
    sender, worker = brokers
    keys = [sender.list_key(level) for level in sorted(PRIORITIES.values())]
    assert all(k.startswith("{aihub:media}:") for k in keys)
    assert len({key_slot(k.encode()) for k in keys}) == 1  # one BRPOP sees all
    for job_id, priority in [(1, "batch"), (2, "normal"), (3, "interactive")]:
        await sender.kick(_message(job_id, priority))
    assert await worker.pending() == 3
    received: list[bytes] = []
    async with asyncio.timeout(10):
        async for data in worker.listen():
            received.append(data)
            if len(received) == 3:
                break
    assert received == [b"3", b"2", b"1"]
    assert await sender.pending() == 0


async def test_a_whole_cluster_outage_is_survived(
    tmp_path: Path,
) -> None:
    """Every node killed, then started again (empty, same slots): meanwhile
    every backend degrades as on a single Redis that is away; after, the event
    bus is subscribed again and the state store answers."""
    servers = RedisClusterServers(tmp_path)
    servers.start()
    receiver = await build_infra(servers.url())
    publisher = await build_infra(servers.url())
    try:
        async with receiver.events.subscribe("voice.session.end") as messages:
            servers.stop()
            # While no node answers: the state store says so, the cache misses,
            # the limiter answers per process, publishing says so.
            with pytest.raises(BackendUnavailableError):
                await publisher.state.get_json("run:1")
            assert await publisher.cache.get("k") is None
            assert (await publisher.limiter.hit("k", limit_per_minute=1)).allowed
            assert not (await publisher.limiter.hit("k", limit_per_minute=1)).allowed
            with pytest.raises(BackendUnavailableError):
                await publisher.events.publish("voice.session.end", {"n": -1})
            servers.start()
            got = None
            for attempt in range(100):  # what is sent while it reconnects is lost
                try:
                    await publisher.events.publish("voice.session.end", {"n": attempt})
                except Exception:
                    await asyncio.sleep(0.1)
                    continue
                try:
                    async with asyncio.timeout(0.2):
                        got = await anext(messages)
                        break
                except TimeoutError:
                    continue
            assert got is not None
        await publisher.state.set_json("after", 1)
        assert await receiver.state.get_json("after") == 1
    finally:
        await receiver.close()
        await publisher.close()
        servers.stop()


# -- Sentinel -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelServers]:
    servers = SentinelServers(tmp_path_factory.mktemp("sentinel"))
    try:
        servers.start()
        yield servers
    finally:
        servers.close()


async def test_sentinel_url_reaches_the_master_and_its_database(
    sentinel: SentinelServers,
) -> None:
    """The URL names only the sentinel: the client finds the master through it,
    on the database the URL gives."""
    first = await build_infra(sentinel.url(5))
    second = await build_infra(sentinel.url(5))
    direct = redis_asyncio.Redis.from_url(sentinel.master.url(5))
    try:
        await first.state.set_json("run:1", {"ok": True})
        assert await second.state.get_json("run:1") == {"ok": True}
        assert await direct.exists("aihub:state:run:1") == 1
        assert (await first.limiter.hit("k", limit_per_minute=1)).allowed
        assert not (await second.limiter.hit("k", limit_per_minute=1)).allowed
        async with first.events.subscribe("chat.stop") as messages:
            await second.events.publish("chat.stop", {"run_id": "x"})
            async with asyncio.timeout(5):
                assert await anext(messages) == {"run_id": "x"}
    finally:
        await direct.flushdb()
        await direct.aclose()
        await first.close()
        await second.close()
