"""In-process event bus: publish hands each message straight to this process's
subscribers (bounded queues) and listeners. Nothing crosses a process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import orjson

from aihub.infra.events.base import Callback, Listener
from aihub.infra.events.fanout import Fanout, Subscription


class MemoryEventBus:
    def __init__(self, *, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._fanout = Fanout()

    async def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        self._fanout.deliver_matching(channel, orjson.dumps(message))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(channel, self._queue_size)
        try:
            self._fanout.add(channel, subscription)
            yield subscription
        finally:
            subscription.end()
            self._fanout.remove(channel, subscription)

    async def listen(self, channel: str, callback: Callback) -> Listener:
        listener = Listener(channel, callback, self._unlisten)
        self._fanout.add(channel, listener)
        return listener

    async def _unlisten(self, listener: Listener) -> None:
        self._fanout.remove(listener.name, listener)

    def subscriber_count(self, channel: str) -> int:
        return self._fanout.count(channel)

    async def start(self) -> None:
        """Nothing to start: delivery happens inside publish."""

    async def close(self) -> None:
        self._fanout.close()
