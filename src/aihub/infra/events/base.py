"""The event bus interface: JSON objects published on named channels.

Delivery is at most once and only to subscribers present when a message is
published (Redis pub/sub semantics, kept by the in-process bus too). A name with
``*``, ``?`` or ``[`` is a glob pattern (``media.job.*``) for subscribe and listen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Message = dict[str, Any]
Callback = Callable[[str, Message], None]
"""A hot listener: called with (channel, message) by the bus's own dispatcher.
It must be quick and must not block (set an Event, drop a cache entry); work
that awaits belongs to a ``subscribe()`` loop instead."""


class Listener:
    """Handle returned by ``EventBus.listen``; ``close()`` stops the callback."""

    __slots__ = ("_on_close", "callback", "closed", "name")

    def __init__(
        self,
        name: str,
        callback: Callback,
        on_close: Callable[[Listener], Awaitable[None]],
    ) -> None:
        self.name = name
        self.callback = callback
        self.closed = False
        self._on_close = on_close

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._on_close(self)


class EventBus(Protocol):
    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        """Send one JSON object (orjson) to every current subscriber."""

    def subscribe(
        self, channel: str
    ) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """``async with bus.subscribe(ch) as messages: async for m in messages``.

        The subscription is active when the ``async with`` body starts. Each
        subscriber has a bounded queue: a slow one loses its oldest messages
        (logged). The iterator ends when the bus closes.
        """

    async def listen(self, channel: str, callback: Callback) -> Listener:
        """Call ``callback`` for each message; active when this returns."""

    def subscriber_count(self, channel: str) -> int:
        """Subscribers and listeners of this exact name in this process."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...
