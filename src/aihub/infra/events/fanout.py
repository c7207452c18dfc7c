"""Local fan-out shared by both buses: routes from a channel or pattern name to
this process's subscriber queues and listener callbacks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import orjson
import structlog

from aihub.infra.events.base import Listener, Message

log = structlog.get_logger(__name__)

GLOB_CHARS = frozenset("*?[")


def is_pattern(name: str) -> bool:
    return not GLOB_CHARS.isdisjoint(name)


class Subscription:
    """One subscriber's bounded queue, read as an async iterator of messages."""

    def __init__(self, name: str, maxsize: int) -> None:
        self.name = name
        self.dropped = 0
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize)
        self._ended = False
        self._finished = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        if self._finished:
            raise StopAsyncIteration
        message = await self._queue.get()
        if message is None:
            self._finished = True
            raise StopAsyncIteration
        return message

    def push(self, message: Message) -> None:
        if self._ended:
            return
        self._put_dropping_oldest(message)

    def end(self) -> None:
        """Let the reader drain what is queued, then stop iterating."""
        if not self._ended:
            self._ended = True
            self._put_dropping_oldest(None)

    def _put_dropping_oldest(self, item: Message | None) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning(
                    "event_subscriber_lagged", channel=self.name, dropped=self.dropped
                )
        self._queue.put_nowait(item)


@dataclass(slots=True, eq=False)
class Route:
    subscriptions: set[Subscription] = field(default_factory=set)
    listeners: set[Listener] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.subscriptions) + len(self.listeners)


class Fanout:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._patterns: set[str] = set()

    def names(self) -> list[str]:
        return list(self._routes)

    def count(self, name: str) -> int:
        route = self._routes.get(name)
        return len(route) if route is not None else 0

    def add(self, name: str, member: Subscription | Listener) -> bool:
        """Register a member; True when the name had no route before."""
        route = self._routes.get(name)
        is_new = route is None
        if route is None:
            route = self._routes[name] = Route()
            if is_pattern(name):
                self._patterns.add(name)
        if isinstance(member, Subscription):
            route.subscriptions.add(member)
        else:
            route.listeners.add(member)
        return is_new

    def remove(self, name: str, member: Subscription | Listener) -> bool:
        """Unregister a member; True when that emptied (and removed) the route."""
        route = self._routes.get(name)
        if route is None:
            return False
        if isinstance(member, Subscription):
            route.subscriptions.discard(member)
        else:
            route.listeners.discard(member)
        if len(route):
            return False
        del self._routes[name]
        self._patterns.discard(name)
        return True

    def deliver(self, name: str, channel: str, data: bytes) -> None:
        """Hand a message that arrived for route ``name`` to its members."""
        route = self._routes.get(name)
        if route is None or not len(route):
            return
        try:
            first = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.warning("event_message_malformed", channel=channel)
            return
        if not isinstance(first, dict):
            log.warning("event_message_malformed", channel=channel)
            return
        # Each member gets its own copy, so one cannot change another's message.
        copies = _Copies(first, data)
        for subscription in route.subscriptions:
            subscription.push(copies.next())
        for listener in list(route.listeners):
            _call(listener, channel, copies.next())

    def deliver_matching(self, channel: str, data: bytes) -> None:
        """In-process delivery: the exact route, then every matching pattern."""
        if channel in self._routes and not is_pattern(channel):
            self.deliver(channel, channel, data)
        for pattern in list(self._patterns):
            if fnmatchcase(channel, pattern):
                self.deliver(pattern, channel, data)

    def close(self) -> None:
        for route in self._routes.values():
            for subscription in route.subscriptions:
                subscription.end()
        self._routes.clear()
        self._patterns.clear()


class _Copies:
    __slots__ = ("_data", "_first")

    def __init__(self, first: Message, data: bytes) -> None:
        self._first: Message | None = first
        self._data = data

    def next(self) -> Message:
        if self._first is not None:
            message, self._first = self._first, None
            return message
        decoded: Message = orjson.loads(self._data)
        return decoded


def _call(listener: Listener, channel: str, message: Message) -> None:
    try:
        listener.callback(channel, message)
    except Exception:  # a listener's bug must not stop delivery to the others
        log.exception("event_listener_failed", channel=channel)
