from __future__ import annotations

import asyncio
import random
import time

from aihub.infra import Infra


class TestJson:
    async def test_missing_key_reads_as_none(self, infra: Infra) -> None:
        assert await infra.state.get_json("keys:1") is None

    async def test_value_round_trips(self, infra: Infra) -> None:
        value = {"status": "cooldown", "until": 1.5, "errors": ["429"], "n": None}
        await infra.state.set_json("keys:1", value)

        assert await infra.state.get_json("keys:1") == value

    async def test_value_with_ttl_expires(self, infra: Infra) -> None:
        await infra.state.set_json("short", {"v": 1}, ttl_s=0.05)
        await infra.state.set_json("kept", {"v": 2})

        await asyncio.sleep(0.2)

        assert await infra.state.get_json("short") is None
        assert await infra.state.get_json("kept") == {"v": 2}

    async def test_delete_removes_value(self, infra: Infra) -> None:
        await infra.state.set_json("keys:1", {"v": 1})

        await infra.state.delete("keys:1")

        assert await infra.state.get_json("keys:1") is None

    async def test_peer_reads_what_was_stored(self, peers: tuple[Infra, Infra]) -> None:
        first, second = peers
        await first.state.set_json("keys:1", {"status": "invalid"})

        assert await second.state.get_json("keys:1") == {"status": "invalid"}


class TestMaxDeadline:
    async def test_later_deadline_is_kept(self, infra: Infra) -> None:
        now = time.time()

        first = await infra.state.set_max_deadline("cool:1", now + 100)
        earlier = await infra.state.set_max_deadline("cool:1", now + 50)

        assert first == now + 100
        assert earlier == now + 100
        assert await infra.state.get_json("cool:1") == now + 100

    async def test_a_later_deadline_replaces_the_earlier(self, infra: Infra) -> None:
        now = time.time()
        await infra.state.set_max_deadline("cool:1", now + 50)

        later = await infra.state.set_max_deadline("cool:1", now + 200.25)

        assert later == now + 200.25
        assert await infra.state.get_json("cool:1") == now + 200.25

    async def test_deadline_vanishes_when_it_passes(self, infra: Infra) -> None:
        await infra.state.set_max_deadline("cool:1", time.time() + 0.05)

        await asyncio.sleep(0.2)

        assert await infra.state.get_json("cool:1") is None

    async def test_concurrent_updates_from_peers_keep_the_latest(
        self, peers: tuple[Infra, Infra]
    ) -> None:
        first, second = peers
        now = time.time()
        deadlines = [now + random.uniform(10, 1000) for _ in range(40)]

        await asyncio.gather(
            *(
                (first if n % 2 else second).state.set_max_deadline("cool:1", d)
                for n, d in enumerate(deadlines)
            )
        )

        assert await first.state.get_json("cool:1") == max(deadlines)
        assert await second.state.get_json("cool:1") == max(deadlines)
