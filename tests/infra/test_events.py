from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from aihub.infra import Infra, build_infra
from aihub.infra.events import Message

from .conftest import SHARDED, MakeInfra


def _skip_patterns_on_cluster(backend: str) -> None:
    if SHARDED and backend == "redis":
        pytest.skip("sharded pub/sub has no patterns (refusal: test_redis_cluster)")


async def _next(messages: AsyncIterator[Message]) -> Message:
    async with asyncio.timeout(5):
        return await anext(messages)


class Received:
    """A listener callback that records calls and lets a test wait for them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Message]] = []
        self._changed = asyncio.Event()

    def __call__(self, channel: str, message: Message) -> None:
        self.calls.append((channel, message))
        self._changed.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.calls) < count:
                self._changed.clear()
                await self._changed.wait()


class TestSubscribe:
    async def test_message_reaches_two_subscribers_of_a_peer(
        self, peers: tuple[Infra, Infra]
    ) -> None:
        publisher, receiver = peers
        async with (
            receiver.events.subscribe("stream.stop") as first,
            receiver.events.subscribe("stream.stop") as second,
        ):
            await publisher.events.publish("stream.stop", {"message_id": 7})

            assert await _next(first) == {"message_id": 7}
            assert await _next(second) == {"message_id": 7}

    async def test_subscribers_in_both_instances_receive(
        self, peers: tuple[Infra, Infra]
    ) -> None:
        first, second = peers
        async with (
            first.events.subscribe("keys.health") as mine,
            second.events.subscribe("keys.health") as theirs,
        ):
            await first.events.publish("keys.health", {"key_id": 1, "status": "ok"})

            assert await _next(mine) == {"key_id": 1, "status": "ok"}
            assert await _next(theirs) == {"key_id": 1, "status": "ok"}

    async def test_messages_arrive_in_publish_order(self, infra: Infra) -> None:
        async with infra.events.subscribe("media.job.1") as messages:
            for percent in (10, 50, 100):
                await infra.events.publish("media.job.1", {"percent": percent})

            received = [await _next(messages) for _ in range(3)]

        assert [m["percent"] for m in received] == [10, 50, 100]

    async def test_other_channels_are_not_delivered(self, infra: Infra) -> None:
        async with infra.events.subscribe("a") as messages:
            await infra.events.publish("b", {"n": 1})
            await infra.events.publish("a", {"n": 2})

            assert await _next(messages) == {"n": 2}

    async def test_pattern_receives_matching_channels_only(
        self, peers: tuple[Infra, Infra], backend: str
    ) -> None:
        _skip_patterns_on_cluster(backend)
        publisher, receiver = peers
        async with receiver.events.subscribe("media.job.*") as messages:
            await publisher.events.publish("media.other", {"n": 0})
            await publisher.events.publish("media.job.5", {"n": 1})

            assert await _next(messages) == {"n": 1}

    async def test_each_subscriber_gets_its_own_copy(self, infra: Infra) -> None:
        async with (
            infra.events.subscribe("c") as first,
            infra.events.subscribe("c") as second,
        ):
            await infra.events.publish("c", {"items": [1]})
            mine = await _next(first)
            mine["items"].append(2)

            assert await _next(second) == {"items": [1]}

    async def test_unserializable_message_is_refused(self, infra: Infra) -> None:
        with pytest.raises(TypeError):
            await infra.events.publish("c", {"when": object()})


class TestUnsubscribe:
    async def test_leaving_the_block_removes_the_subscriber(self, infra: Infra) -> None:
        async with infra.events.subscribe("gone") as messages:
            assert infra.events.subscriber_count("gone") == 1

        assert infra.events.subscriber_count("gone") == 0
        await infra.events.publish("gone", {"n": 1})
        with pytest.raises(StopAsyncIteration):
            await _next(messages)

    async def test_other_subscribers_keep_receiving(self, infra: Infra) -> None:
        async with infra.events.subscribe("shared") as staying:
            async with infra.events.subscribe("shared"):
                pass
            await infra.events.publish("shared", {"n": 1})

            assert await _next(staying) == {"n": 1}
            assert infra.events.subscriber_count("shared") == 1

    async def test_closed_listener_is_not_called(self, infra: Infra) -> None:
        received = Received()
        listener = await infra.events.listen("ch", received)
        await listener.close()

        async with infra.events.subscribe("ch") as messages:
            await infra.events.publish("ch", {"n": 1})
            # Delivery reaches every local member at once: once the subscriber
            # has it, a listener still registered would have been called.
            assert await _next(messages) == {"n": 1}

        assert received.calls == []
        assert infra.events.subscriber_count("ch") == 0

    async def test_iterator_ends_when_the_bus_closes(
        self, make_infra: MakeInfra
    ) -> None:
        infra = await make_infra()
        received: list[Message] = []
        subscribed, got_one = asyncio.Event(), asyncio.Event()

        async def consume() -> None:
            async with infra.events.subscribe("ch") as messages:
                subscribed.set()
                async for message in messages:
                    received.append(message)
                    got_one.set()

        task = asyncio.create_task(consume())
        async with asyncio.timeout(5):
            await subscribed.wait()
            await infra.events.publish("ch", {"n": 1})
            await got_one.wait()

        await infra.events.close()

        async with asyncio.timeout(5):
            await task
        assert received == [{"n": 1}]


class TestListen:
    async def test_callback_gets_channel_and_message_from_a_peer(
        self, peers: tuple[Infra, Infra], backend: str
    ) -> None:
        _skip_patterns_on_cluster(backend)
        publisher, receiver = peers
        received = Received()
        listener = await receiver.events.listen("media.job.*", received)

        await publisher.events.publish("media.job.9", {"percent": 40})
        await received.wait_for(1)
        await listener.close()

        assert received.calls == [("media.job.9", {"percent": 40})]

    async def test_failing_callback_does_not_stop_delivery(self, infra: Infra) -> None:
        def broken(channel: str, message: Message) -> None:
            raise RuntimeError("listener bug")

        received = Received()
        await infra.events.listen("ch", broken)
        await infra.events.listen("ch", received)

        await infra.events.publish("ch", {"n": 1})
        await infra.events.publish("ch", {"n": 2})
        await received.wait_for(2)

        assert [message for _, message in received.calls] == [{"n": 1}, {"n": 2}]


class TestSlowSubscriber:
    async def test_full_queue_drops_the_oldest_messages(
        self, make_infra: MakeInfra
    ) -> None:
        infra = await make_infra(event_queue_size=2)
        received = Received()
        await infra.events.listen("ch", received)
        async with infra.events.subscribe("ch") as messages:
            for n in range(5):
                await infra.events.publish("ch", {"n": n})
            # Subscribers are served before listeners within one delivery.
            await received.wait_for(5)

            kept = [await _next(messages) for _ in range(2)]

        assert kept == [{"n": 3}, {"n": 4}]
        assert getattr(messages, "dropped", None) == 3


async def test_in_process_buses_are_separate() -> None:
    first, second = await build_infra(None), await build_infra(None)
    received = Received()
    try:
        await second.events.listen("ch", received)
        await first.events.publish("ch", {"n": 1})
        await second.events.publish("ch", {"n": 2})
        await received.wait_for(1)
    finally:
        await first.close()
        await second.close()

    assert received.calls == [("ch", {"n": 2})]
