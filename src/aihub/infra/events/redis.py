"""Redis event bus: one pub/sub connection per process, read by one dispatcher
task that fans messages out locally, whatever the number of subscribers.

SUBSCRIBE goes to Redis when a name gets its first local member and UNSUBSCRIBE
when it loses its last; ``subscribe``/``listen`` return once Redis confirmed.
When the connection drops (a Redis restart), the dispatcher logs it, retries
with exponential backoff and subscribes every current name again. Messages
published while it was away are lost, as with any pub/sub.

On a Redis Cluster, by default, the same: one connection to one node (chosen at
random, another one after a reconnect), classic SUBSCRIBE/PUBLISH, which the
cluster broadcasts to every node. With ``sharded`` (``?pubsub=sharded`` on the
cluster URL) the bus uses sharded pub/sub (SPUBLISH / SSUBSCRIBE) instead: a
channel lives on the node that owns its slot, so a message crosses one shard
instead of every node; redis-py's ``ClusterPubSub`` keeps one connection per
node that holds one of our channels and moves channels when slots move; the
dispatcher polls it. Sharded pub/sub has no patterns: subscribing to a glob
name is then refused (nothing in aihub uses one). Not the default: in the long
cluster test run, redis-py's sharded subscriptions (8.2) lost cross-process
events three times in ~300 tests, the classic path none.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
import structlog
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster

from aihub.core.tasks import cancel_requested
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events.base import Callback, Listener
from aihub.infra.events.fanout import Fanout, Subscription, is_pattern
from aihub.infra.redis_client import REDIS_ERRORS, RedisClient, is_cluster

log = structlog.get_logger(__name__)

PREFIX = "aihub:events:"
CONNECTION_ERRORS: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError)
SHARDED_POLL_S = 0.1
"""How long one sharded poll waits (it also bounds how long a SSUBSCRIBE waits
for the node's connection while the dispatcher reads it)."""


def default_prefix(client: RedisClient) -> str:
    """Channel names carry the database number: Redis pub/sub ignores it, so
    two deployments (or two test workers) on one server, each with its own
    database, would otherwise hear each other's events."""
    if is_cluster(client):
        return f"{PREFIX}0:"  # a cluster has database 0 only
    pool = cast(Any, client).connection_pool
    database = pool.connection_kwargs.get("db", 0)
    return f"{PREFIX}{database}:"


class RedisEventBus:
    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str | None = None,
        queue_size: int = 1000,
        confirm_timeout_s: float = 5.0,
        max_backoff_s: float = 5.0,
        sharded: bool = False,
    ) -> None:
        self._client = client
        self._sharded = sharded and is_cluster(client)
        self._prefix = prefix if prefix is not None else default_prefix(client)
        self._queue_size = queue_size
        self._confirm_timeout_s = confirm_timeout_s
        self._max_backoff_s = max_backoff_s
        self._fanout = Fanout()
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        # Orders SUBSCRIBE/UNSUBSCRIBE on the wire with the route changes.
        self._lock = asyncio.Lock()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        # Sharded: set when a name is added, so an idle dispatcher polls again.
        self._names_changed = asyncio.Event()
        # Classic pub/sub on a cluster: the node the connection listens to.
        self._node: ClusterNode | None = None

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        data = orjson.dumps(message)
        try:
            if self._sharded:
                await self._client.spublish(self._prefix + channel, data)
            elif self._node is not None:
                await self._publish_on_our_node(self._node, channel, data)
            else:
                await self._client.publish(self._prefix + channel, data)
        except CONNECTION_ERRORS as exc:
            log.warning("event_publish_failed", channel=channel, error=str(exc))
            raise BackendUnavailableError from exc

    async def _publish_on_our_node(
        self, node: ClusterNode, channel: str, data: bytes
    ) -> None:
        """Classic pub/sub on a cluster: PUBLISH on the node this process
        listens to, so its own subscribers hear it without a cluster-bus hop
        (a cache dropped by a change is dropped before the change's response);
        the cluster relays it to the other nodes. That node away: any node."""
        try:
            await self._client.publish(self._prefix + channel, data, target_nodes=node)
        except CONNECTION_ERRORS:
            await self._client.publish(self._prefix + channel, data)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(channel, self._queue_size)
        try:
            await self._attach(channel, subscription)
            yield subscription
        finally:
            subscription.end()
            await self._detach(channel, subscription)

    async def listen(self, channel: str, callback: Callback) -> Listener:
        listener = Listener(channel, callback, self._unlisten)
        try:
            await self._attach(channel, listener)
        except BaseException:  # cancelled while waiting: leave no route behind
            await listener.close()
            raise
        return listener

    async def _unlisten(self, listener: Listener) -> None:
        await self._detach(listener.name, listener)

    def subscriber_count(self, channel: str) -> int:
        return self._fanout.count(channel)

    async def start(self) -> None:
        """Connect (a failure is logged and retried) and start the dispatcher."""
        if self._task is not None:
            return
        try:
            await self._connect()
        except CONNECTION_ERRORS as exc:
            log.warning("event_bus_connect_failed", error=str(exc))
        self._task = asyncio.create_task(self._run(), name="aihub-event-bus")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self._fanout.close()
        self._release_waiters()
        await self._drop_pubsub()

    # -- subscriptions -------------------------------------------------------

    async def _attach(self, name: str, member: Subscription | Listener) -> None:
        if self._sharded and is_pattern(name):
            raise ValueError(
                f"{name!r}: pattern subscriptions are not available on a Redis "
                "Cluster (sharded pub/sub has none)"
            )
        waiter: asyncio.Future[None] | None = None
        async with self._lock:
            is_new = self._fanout.add(name, member)
            if self._pubsub is not None and (is_new or name in self._waiters):
                # A later member of a name still being subscribed waits too.
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.setdefault(name, []).append(waiter)
                if is_new and not await self._send(self._pubsub, "subscribe", name):
                    self._forget_waiter(name, waiter)
                    waiter = None
                self._names_changed.set()  # sharded: poll the new node now
        if waiter is None:
            return
        try:
            async with asyncio.timeout(self._confirm_timeout_s):
                await waiter
        except TimeoutError:
            log.warning("event_subscribe_unconfirmed", channel=name)
        finally:
            self._forget_waiter(name, waiter)

    def _forget_waiter(self, name: str, waiter: asyncio.Future[None]) -> None:
        waiters = self._waiters.get(name, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(name, None)

    async def _detach(self, name: str, member: Subscription | Listener) -> None:
        async with self._lock:
            if self._fanout.remove(name, member) and self._pubsub is not None:
                await self._send(self._pubsub, "unsubscribe", name)

    async def _send(self, pubsub: PubSub, action: str, name: str) -> bool:
        """(P)SUBSCRIBE or (P)UNSUBSCRIBE one name; False when Redis failed (the
        dispatcher then reconnects and subscribes every current name)."""
        pattern = is_pattern(name)
        command: Callable[..., Any]
        if self._sharded:
            sharded = cast(Any, pubsub)
            subscribe = action == "subscribe"
            command = sharded.ssubscribe if subscribe else sharded.sunsubscribe
        elif action == "subscribe":
            command = pubsub.psubscribe if pattern else pubsub.subscribe
        else:
            command = pubsub.punsubscribe if pattern else pubsub.unsubscribe
        try:
            await command(self._prefix + name)
        except CONNECTION_ERRORS as exc:
            log.warning("event_subscription_failed", channel=name, error=str(exc))
            return False
        return True

    # -- the dispatcher ------------------------------------------------------

    async def _run(self) -> None:
        backoff = 0.1
        while not cancel_requested():
            try:
                pubsub = self._pubsub
                if pubsub is None:
                    pubsub = await self._connect()
                    log.info("event_bus_reconnected", names=len(self._fanout.names()))
                    backoff = 0.1
                if self._sharded:
                    message = await self._poll_sharded(pubsub)
                else:
                    message = await pubsub.get_message(timeout=None)
            except CONNECTION_ERRORS as exc:
                event = "event_bus_disconnected"
                if self._pubsub is None:
                    event = "event_bus_reconnect_failed"
                log.warning(event, error=str(exc), retry_in_s=backoff)
                await self._drop_pubsub()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            if message is not None:
                try:
                    self._dispatch(message)
                except Exception:  # the dispatcher must outlive one bad message
                    log.exception("event_dispatch_failed")

    async def _poll_sharded(self, pubsub: PubSub) -> dict[str, Any] | None:
        sharded = cast(Any, pubsub)
        if not sharded.node_pubsub_mapping:
            # No channel yet: nothing to read until a name is added.
            self._names_changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._names_changed.wait()
            return None
        message: dict[str, Any] | None = await sharded.get_sharded_message(
            timeout=SHARDED_POLL_S
        )
        return message

    async def _connect(self) -> PubSub:
        if self._sharded:
            return await self._connect_sharded()
        async with self._lock:
            pubsub: PubSub
            if isinstance(self._client, RedisCluster):
                # Classic pub/sub reaches every node: any one will do.
                await self._client.initialize()
                node = self._client.get_random_node()
                pubsub = self._client.pubsub(node=node)
                self._node = node
            else:
                pubsub = self._client.pubsub()
            try:
                await pubsub.connect()  # type: ignore[no-untyped-call]  # redis-py
                names = self._fanout.names()
                channels = [self._prefix + n for n in names if not is_pattern(n)]
                patterns = [self._prefix + n for n in names if is_pattern(n)]
                if channels:
                    await pubsub.subscribe(*channels)
                if patterns:
                    await pubsub.psubscribe(*patterns)
            except BaseException:
                await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # redis-py<8
                raise
            # redis-py reconnects a dropped connection by itself when it can (and
            # subscribes again): have that logged too.
            _connection_of(pubsub).register_connect_callback(self._on_reconnected)
            self._pubsub = pubsub
            return pubsub

    async def _connect_sharded(self) -> PubSub:
        """A ``ClusterPubSub``: it connects to a node when a channel needs it."""
        async with self._lock:
            pubsub = cast(Any, self._client.pubsub())
            try:
                channels = [self._prefix + n for n in self._fanout.names()]
                if channels:
                    await pubsub.ssubscribe(*channels)
            except BaseException:
                await pubsub.aclose()
                raise
            self._pubsub = cast(PubSub, pubsub)
            return self._pubsub

    async def _on_reconnected(self, connection: object) -> None:
        log.info("event_bus_reconnected", names=len(self._fanout.names()))

    async def _drop_pubsub(self) -> None:
        async with self._lock:
            pubsub, self._pubsub = self._pubsub, None
        # Subscribers waiting for a confirmation are subscribed again on reconnect.
        self._release_waiters()
        if pubsub is not None:
            if (connection := _connection_of(pubsub)) is not None:
                connection.deregister_connect_callback(self._on_reconnected)
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # redis-py<8
            except CONNECTION_ERRORS as exc:
                log.debug("event_bus_close_failed", error=str(exc))

    def _release_waiters(self) -> None:
        for waiters in self._waiters.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind in ("message", "smessage"):
            channel = self._unprefix(message["channel"])
            self._fanout.deliver(channel, channel, message["data"])
        elif kind == "pmessage":
            pattern = self._unprefix(message["pattern"])
            channel = self._unprefix(message["channel"])
            self._fanout.deliver(pattern, channel, message["data"])
        elif kind in ("subscribe", "psubscribe", "ssubscribe"):
            for waiter in self._waiters.get(self._unprefix(message["channel"]), []):
                if not waiter.done():
                    waiter.set_result(None)

    def _unprefix(self, raw: bytes | str) -> str:
        name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return name.removeprefix(self._prefix)


def _connection_of(pubsub: PubSub) -> Any:
    """The PubSub's own connection (redis-py types the attribute as None)."""
    return cast(Any, pubsub).connection
