from __future__ import annotations

import asyncio

import pytest

from aihub.infra import Infra

from .conftest import MakeInfra


class TestHit:
    async def test_allows_the_limit_then_denies_with_reset_after(
        self, infra: Infra
    ) -> None:
        results = [
            await infra.limiter.hit("gk:1", limit_per_minute=3) for _ in range(4)
        ]

        assert [r.allowed for r in results] == [True, True, True, False]
        assert [r.remaining for r in results] == [2, 1, 0, 0]
        assert all(r.limit == 3 for r in results)
        assert 0 < results[-1].reset_after_s <= 60

    async def test_separate_keys_are_independent(self, infra: Infra) -> None:
        await infra.limiter.hit("gk:a", limit_per_minute=1)

        other = await infra.limiter.hit("gk:b", limit_per_minute=1)
        again = await infra.limiter.hit("gk:a", limit_per_minute=1)

        assert other.allowed
        assert not again.allowed

    async def test_cost_counts_units_and_a_denied_hit_consumes_nothing(
        self, infra: Infra
    ) -> None:
        first = await infra.limiter.hit("tpm:1", limit_per_minute=10, cost=7)
        too_big = await infra.limiter.hit("tpm:1", limit_per_minute=10, cost=4)
        fits = await infra.limiter.hit("tpm:1", limit_per_minute=10, cost=3)

        assert (first.allowed, first.remaining) == (True, 3)
        assert (too_big.allowed, too_big.remaining) == (False, 3)
        assert (fits.allowed, fits.remaining) == (True, 0)

    async def test_lowered_limit_applies_to_usage_so_far(self, infra: Infra) -> None:
        for _ in range(3):
            await infra.limiter.hit("gk:1", limit_per_minute=5)

        lowered = await infra.limiter.hit("gk:1", limit_per_minute=3)

        assert not lowered.allowed

    async def test_window_rolls_over(self, make_infra: MakeInfra) -> None:
        infra = await make_infra(limiter_window_s=1)
        denied = None
        for _ in range(4):  # 2 fit; one more may fit if a window edge falls between
            result = await infra.limiter.hit("gk:1", limit_per_minute=2)
            if not result.allowed:
                denied = result
                break
        assert denied is not None

        await asyncio.sleep(denied.reset_after_s + 0.05)

        assert (await infra.limiter.hit("gk:1", limit_per_minute=2)).allowed

    async def test_peers_share_the_counter(self, peers: tuple[Infra, Infra]) -> None:
        first, second = peers
        await first.limiter.hit("gk:1", limit_per_minute=3)
        await first.limiter.hit("gk:1", limit_per_minute=3)

        last = await second.limiter.hit("gk:1", limit_per_minute=3)
        over = await first.limiter.hit("gk:1", limit_per_minute=3)

        assert (last.allowed, last.remaining) == (True, 0)
        assert not over.allowed

    async def test_concurrent_hits_never_exceed_the_limit(
        self, peers: tuple[Infra, Infra]
    ) -> None:
        first, second = peers
        results = await asyncio.gather(
            *(
                (first if n % 2 else second).limiter.hit("gk:1", limit_per_minute=10)
                for n in range(30)
            )
        )

        assert sum(r.allowed for r in results) == 10

    @pytest.mark.parametrize(("limit", "cost"), [(0, 1), (-5, 1), (10, -1)])
    async def test_bad_limit_or_cost_is_refused(
        self, infra: Infra, limit: int, cost: int
    ) -> None:
        with pytest.raises(ValueError, match="must"):
            await infra.limiter.hit("gk:1", limit_per_minute=limit, cost=cost)


class TestPeek:
    async def test_peek_consumes_nothing(self, infra: Infra) -> None:
        before = await infra.limiter.peek("tpm:1", limit_per_minute=100, cost=60)
        after = await infra.limiter.peek("tpm:1", limit_per_minute=100, cost=60)

        assert (before.allowed, before.remaining) == (True, 100)
        assert (after.allowed, after.remaining) == (True, 100)
        assert before.reset_after_s == 0

    async def test_peek_denies_a_cost_that_does_not_fit(self, infra: Infra) -> None:
        await infra.limiter.hit("tpm:1", limit_per_minute=100, cost=70)

        fits = await infra.limiter.peek("tpm:1", limit_per_minute=100, cost=30)
        too_big = await infra.limiter.peek("tpm:1", limit_per_minute=100, cost=31)

        assert fits.allowed
        assert not too_big.allowed
        assert too_big.remaining == 30
        assert too_big.reset_after_s > 0

    async def test_zero_cost_peek_denies_only_an_exhausted_window(
        self, infra: Infra
    ) -> None:
        await infra.limiter.hit("tpm:1", limit_per_minute=10, cost=9)
        almost = await infra.limiter.peek("tpm:1", limit_per_minute=10)
        await infra.limiter.hit("tpm:1", limit_per_minute=10, cost=1)
        exhausted = await infra.limiter.peek("tpm:1", limit_per_minute=10)

        assert almost.allowed
        assert not exhausted.allowed


class TestCharge:
    async def test_usage_that_fits_is_recorded(self, infra: Infra) -> None:
        charged = await infra.limiter.charge("tpm:1", limit_per_minute=100, cost=40)
        peeked = await infra.limiter.peek("tpm:1", limit_per_minute=100)

        assert charged.allowed
        assert peeked.remaining == 60

    async def test_usage_over_the_limit_fills_the_window(self, infra: Infra) -> None:
        await infra.limiter.charge("tpm:1", limit_per_minute=10, cost=7)

        over = await infra.limiter.charge("tpm:1", limit_per_minute=10, cost=7)
        next_call = await infra.limiter.peek("tpm:1", limit_per_minute=10)

        assert (over.allowed, over.remaining) == (False, 0)
        assert not next_call.allowed
        assert next_call.reset_after_s > 0

    async def test_usage_larger_than_the_whole_limit_blocks_the_key(
        self, infra: Infra
    ) -> None:
        over = await infra.limiter.charge("tpm:1", limit_per_minute=10, cost=50)

        assert not over.allowed
        assert not (await infra.limiter.peek("tpm:1", limit_per_minute=10)).allowed
