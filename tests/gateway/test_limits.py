"""A gateway key's limits: models, rpm, tpm and budget, in one process and
across two sharing Redis; spend written to the database by the flusher."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from aihub.gateway.caller import Caller, KeyPolicy
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.gateway.limits import check_request, duration, model_allowed, record_usage
from aihub.gateway.models import GatewayKey
from aihub.runtime import runtime_of
from tests.factories import Account, make_user
from tests.gateway.keys_support import (
    MakeClient,
    bearer,
    create_key,
    make_client,
    needs_redis,
    runtime,
)

__all__ = ["make_client", "runtime"]  # fixtures used by the tests below

pytestmark = pytest.mark.usefixtures("runtime")


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


async def _call(
    client: httpx.AsyncClient, key: str, *, model: str = "gpt-4o-mini", tokens: int = 0
) -> httpx.Response:
    return await client.post(
        "/test/call", json={"model": model, "tokens": tokens}, headers=bearer(key)
    )


async def _use(
    client: httpx.AsyncClient, key: str, *, tokens: int = 0, cost: float = 0.0
) -> None:
    response = await client.post(
        "/test/usage", json={"tokens": tokens, "cost": cost}, headers=bearer(key)
    )
    assert response.status_code == 200, response.text


async def _stored_spend(app: FastAPI, key_id: int) -> float:
    async with runtime_of(app).sessionmaker() as session:
        spend = await session.scalar(
            select(GatewayKey.spend_usd).where(GatewayKey.id == key_id)
        )
    assert spend is not None
    return float(spend)


async def _wait_stored_spend(app: FastAPI, key_id: int, expected: float) -> None:
    for _ in range(500):
        if await _stored_spend(app, key_id) == pytest.approx(expected):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"stored spend {await _stored_spend(app, key_id)}")


class TestModels:
    async def test_model_outside_the_list_is_403(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        key = (await create_key(client, alice, models=["gpt-4o", "claude-*"]))["key"]
        assert (await _call(client, key, model="gpt-4o")).status_code == 200
        assert (await _call(client, key, model="claude-3-haiku")).status_code == 200
        response = await _call(client, key, model="gpt-4o-mini")
        assert response.status_code == 403
        body = response.json()
        assert body["error_type"] == "forbidden"
        assert "not allowed for this key" in body["error_message"]

    async def test_no_list_allows_every_model(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        key = (await create_key(client, alice))["key"]
        response = await _call(client, key, model="anything")
        assert response.status_code == 200
        # No limits set: no x-ratelimit headers either.
        assert not [h for h in response.headers if h.startswith("x-ratelimit")]

    def test_matching(self) -> None:
        policy = KeyPolicy(id=1, name="k", models=("a", "b-[0-9]"))
        assert model_allowed(policy, "a")
        assert model_allowed(policy, "b-7")
        assert not model_allowed(policy, "b-x")
        assert not model_allowed(policy, "A")
        assert model_allowed(KeyPolicy(id=1, name="k"), "whatever")


class TestRequestsPerMinute:
    async def test_third_call_of_two_per_minute_is_429(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        key = (await create_key(client, alice, rpm=2))["key"]
        first = await _call(client, key)
        assert first.status_code == 200
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert "x-ratelimit-reset-requests" in first.headers
        second = await _call(client, key)
        assert second.headers["x-ratelimit-remaining-requests"] == "0"

        third = await _call(client, key)
        assert third.status_code == 429
        assert third.json()["error_type"] == "rate_limit"
        assert int(third.headers["retry-after"]) >= 1
        assert third.headers["x-ratelimit-limit-requests"] == "2"
        assert third.headers["x-ratelimit-remaining-requests"] == "0"
        assert third.headers["x-ratelimit-reset-requests"].endswith("s")

    async def test_each_key_has_its_own_window(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        one = (await create_key(client, alice, rpm=1))["key"]
        other = (await create_key(client, alice, rpm=1))["key"]
        assert (await _call(client, one)).status_code == 200
        assert (await _call(client, one)).status_code == 429
        assert (await _call(client, other)).status_code == 200

    async def test_a_jwt_caller_has_no_key_limits(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await create_key(client, alice, rpm=1)
        for _ in range(3):
            response = await client.post(
                "/test/call", json={"model": "m"}, headers=alice.headers
            )
            assert response.status_code == 200

    async def test_a_raised_limit_applies_at_once(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, rpm=1)
        key = created["key"]
        assert (await _call(client, key)).status_code == 200
        assert (await _call(client, key)).status_code == 429
        await client.patch(
            f"/api/gateway-keys/{created['id']}",
            json={"rpm": 5},
            headers=alice.headers,
        )
        response = await _call(client, key)
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-requests"] == "5"


class TestTokensPerMinute:
    async def test_used_tokens_fill_the_window(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        key = (await create_key(client, alice, tpm=100))["key"]
        ok = await _call(client, key, tokens=30)
        assert ok.status_code == 200
        assert ok.headers["x-ratelimit-limit-tokens"] == "100"
        assert ok.headers["x-ratelimit-remaining-tokens"] == "100"
        await _use(client, key, tokens=80)

        response = await _call(client, key, tokens=30)
        assert response.status_code == 429
        assert response.json()["error_type"] == "rate_limit"
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["x-ratelimit-limit-tokens"] == "100"
        assert response.headers["x-ratelimit-remaining-tokens"] == "20"
        # A smaller request still fits.
        assert (await _call(client, key, tokens=10)).status_code == 200

    async def test_estimate_above_the_limit_fits_an_empty_window(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        key = (await create_key(client, alice, tpm=50))["key"]
        assert (await _call(client, key, tokens=500)).status_code == 200
        await _use(client, key, tokens=500)
        response = await _call(client, key, tokens=1)
        assert response.status_code == 429
        assert response.headers["x-ratelimit-remaining-tokens"] == "0"

    async def test_a_denied_token_check_does_not_use_a_request(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        key = (await create_key(client, alice, tpm=10, rpm=1))["key"]
        await _use(client, key, tokens=10)
        assert (await _call(client, key, tokens=5)).status_code == 429
        response = await _call(client, key, tokens=0)
        assert response.status_code == 429  # tokens are still exhausted
        assert "x-ratelimit-limit-requests" not in response.headers


class TestBudget:
    async def test_spend_over_budget_is_402(
        self, app: FastAPI, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, budget_usd=0.05)
        key = created["key"]
        assert (await _call(client, key)).status_code == 200
        await _use(client, key, cost=0.03)
        assert (await _call(client, key)).status_code == 200
        await _use(client, key, cost=0.03)

        response = await _call(client, key)
        assert response.status_code == 402
        assert response.json()["error_type"] == "billing"
        url = f"/api/gateway-keys/{created['id']}"
        shown = (await client.get(url, headers=alice.headers)).json()
        assert shown["spend_usd"] == pytest.approx(0.06)
        await _wait_stored_spend(app, created["id"], 0.06)

        # Raising the budget lets it through again.
        await client.patch(url, json={"budget_usd": 1}, headers=alice.headers)
        assert (await _call(client, key)).status_code == 200

    async def test_zero_budget_blocks(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        key = (await create_key(client, alice, budget_usd=0))["key"]
        assert (await _call(client, key)).status_code == 402

    async def test_stored_spend_counts_after_a_restart(
        self, app: FastAPI, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, budget_usd=1.0)
        async with runtime_of(app).sessionmaker() as session:
            row = await session.get(GatewayKey, created["id"])
            assert row is not None
            row.spend_usd = 1.5
            await session.commit()
        assert (await _call(client, created["key"])).status_code == 402

    async def test_spend_left_at_shutdown_is_written(
        self, app: FastAPI, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        await _use(client, created["key"], cost=0.25, tokens=10)
        await _use(client, created["key"], cost=0.5)
        await runtime_of(app).gateway.close()  # as shutdown does
        assert await _stored_spend(app, created["id"]) == pytest.approx(0.75)


class TestRecordUsageDirectly:
    async def test_jwt_callers_are_not_charged(
        self, app: FastAPI, runtime: GatewayRuntime
    ) -> None:
        caller = Caller(user_id=1)
        assert await check_request(runtime, caller, "m", 10**9) == {}
        await record_usage(runtime, caller, 10**9, 100.0)
        assert runtime.spend.live(1) is None


class TestDuration:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (0, "0s"),
            (0.02, "20ms"),
            (1, "1s"),
            (1.5, "1.5s"),
            (360, "6m0s"),
            (61.25, "1m1.25s"),
        ],
    )
    def test_openai_format(self, seconds: float, text: str) -> None:
        assert duration(seconds) == text


@needs_redis
class TestAcrossProcesses:
    async def test_rpm_is_shared(
        self, client: httpx.AsyncClient, alice: Account, make_client: MakeClient
    ) -> None:
        second = await make_client()
        key = (await create_key(client, alice, rpm=3))["key"]
        assert (await _call(client, key)).status_code == 200
        assert (await _call(second, key)).status_code == 200
        assert (await _call(client, key)).status_code == 200
        response = await _call(second, key)
        assert response.status_code == 429
        assert response.headers["x-ratelimit-remaining-requests"] == "0"
        assert (await _call(client, key)).status_code == 429

    async def test_tpm_is_shared(
        self, client: httpx.AsyncClient, alice: Account, make_client: MakeClient
    ) -> None:
        second = await make_client()
        key = (await create_key(client, alice, tpm=100))["key"]
        await _use(client, key, tokens=95)
        assert (await _call(second, key, tokens=10)).status_code == 429

    async def test_budget_is_shared(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        alice: Account,
        make_client: MakeClient,
    ) -> None:
        second = await make_client()
        created = await create_key(client, alice, budget_usd=1.0)
        key = created["key"]
        assert (await _call(second, key)).status_code == 200  # cached there
        await _use(client, key, cost=0.6)
        await _use(second, key, cost=0.6)
        assert (await _call(client, key)).status_code == 402
        assert (await _call(second, key)).status_code == 402
        await _wait_stored_spend(app, created["id"], 1.2)
        shown: dict[str, Any] = (
            await second.get(
                f"/api/gateway-keys/{created['id']}", headers=alice.headers
            )
        ).json()
        assert shown["spend_usd"] == pytest.approx(1.2)
