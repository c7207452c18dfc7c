"""Redis event bus: one pub/sub connection per process, read by one dispatcher
task that fans messages out locally, whatever the number of subscribers.

SUBSCRIBE goes to Redis when a name gets its first local member and UNSUBSCRIBE
when it loses its last; ``subscribe``/``listen`` return once Redis confirmed.
When the connection drops (a Redis restart), the dispatcher logs it, retries
with exponential backoff and subscribes every current name again. Messages
published while it was away are lost, as with any pub/sub.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

import orjson
import redis.asyncio as redis_asyncio
import structlog
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from aihub.core.tasks import cancel_requested
from aihub.infra.errors import BackendUnavailableError
from aihub.infra.events.base import Callback, Listener
from aihub.infra.events.fanout import Fanout, Subscription, is_pattern

log = structlog.get_logger(__name__)

PREFIX = "aihub:events:"
CONNECTION_ERRORS = (RedisError, OSError)


def default_prefix(client: redis_asyncio.Redis) -> str:
    """Channel names carry the database number: Redis pub/sub ignores it, so
    two deployments (or two test workers) on one server, each with its own
    database, would otherwise hear each other's events."""
    database = client.connection_pool.connection_kwargs.get("db", 0)
    return f"{PREFIX}{database}:"


class RedisEventBus:
    def __init__(
        self,
        client: redis_asyncio.Redis,
        *,
        prefix: str | None = None,
        queue_size: int = 1000,
        confirm_timeout_s: float = 5.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self._client = client
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

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        data = orjson.dumps(message)
        try:
            await self._client.publish(self._prefix + channel, data)
        except CONNECTION_ERRORS as exc:
            log.warning("event_publish_failed", channel=channel, error=str(exc))
            raise BackendUnavailableError from exc

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
        if action == "subscribe":
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

    async def _connect(self) -> PubSub:
        async with self._lock:
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
        if kind == "message":
            channel = self._unprefix(message["channel"])
            self._fanout.deliver(channel, channel, message["data"])
        elif kind == "pmessage":
            pattern = self._unprefix(message["pattern"])
            channel = self._unprefix(message["channel"])
            self._fanout.deliver(pattern, channel, message["data"])
        elif kind in ("subscribe", "psubscribe"):
            for waiter in self._waiters.get(self._unprefix(message["channel"]), []):
                if not waiter.done():
                    waiter.set_result(None)

    def _unprefix(self, raw: bytes | str) -> str:
        name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return name.removeprefix(self._prefix)


def _connection_of(pubsub: PubSub) -> Any:
    """The PubSub's own connection (redis-py types the attribute as None)."""
    return cast(Any, pubsub).connection
