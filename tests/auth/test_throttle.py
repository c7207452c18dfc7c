"""Login brute-force protection (issue 12, defect 5): per address, per account,
and an exponential lock after repeated failures; 429 + Retry-After."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from aihub.auth.throttle import LoginThrottle
from aihub.core.settings import Settings
from aihub.runtime import runtime_of
from tests.factories import Account, make_user

FREE_FAILURES = 3
LOCK_S = 100.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "login_free_failures": FREE_FAILURES,
            "login_lockout_base_s": LOCK_S,
            "login_failures_per_minute_account": 50,
            "login_failures_per_minute_ip": 50,
        }
    )


async def _client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://aihub")


@pytest.fixture
async def other_address(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with await _client_from(app, "10.9.8.7") as client:
        yield client


def _form(user: Account, password: str) -> dict[str, str]:
    return {"username": user.email, "password": password}


def _assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == "rate_limit"
    assert "Too many login attempts" in body["error_message"]


class TestFailedLogins:
    async def test_failures_beyond_the_threshold_lock_the_account(
        self, client: httpx.AsyncClient, other_address: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for _ in range(FREE_FAILURES):
            wrong = await client.post("/api/auth/token", data=_form(user, "wrong-pw"))
            assert wrong.status_code == 401
        one_more = await client.post(
            "/api/auth/login", json={"email": user.email, "password": "wrong-pw"}
        )
        assert one_more.status_code == 401
        # Locked now, from any address, even with the right password.
        locked = await other_address.post(
            "/api/auth/token", data=_form(user, user.password)
        )
        _assert_throttled(locked)
        assert 1 < int(locked.headers["retry-after"]) <= LOCK_S

    async def test_a_success_resets_the_failure_count(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for _ in range(2):
            for _ in range(FREE_FAILURES):
                wrong = await client.post(
                    "/api/auth/token", data=_form(user, "wrong-pw")
                )
                assert wrong.status_code == 401
            right = await client.post(
                "/api/auth/token", data=_form(user, user.password)
            )
            assert right.status_code == 200, right.text

    async def test_an_unknown_login_is_locked_like_a_known_one(
        self, client: httpx.AsyncClient
    ) -> None:
        form = {"username": "nobody@example.com", "password": "guess-1234"}
        statuses = [
            (await client.post("/api/auth/token", data=form)).status_code
            for _ in range(FREE_FAILURES + 2)
        ]
        assert statuses == [401] * (FREE_FAILURES + 1) + [429]

    async def test_the_lock_doubles_with_every_further_failure(
        self, app: FastAPI
    ) -> None:
        throttle = LoginThrottle(
            runtime_of(app).infra.limiter,
            runtime_of(app).infra.state,
            runtime_of(app).settings,
        )
        locks = []
        for _ in range(FREE_FAILURES + 3):
            await throttle.failed(client="192.0.2.1", account="user:4242")
            until = await runtime_of(app).infra.state.get_json("login:locked:user:4242")
            locks.append(None if until is None else until - time.time())
        assert locks[:FREE_FAILURES] == [None] * FREE_FAILURES
        first, second, third = (lock or 0.0 for lock in locks[FREE_FAILURES:])
        assert LOCK_S * 0.9 < first <= LOCK_S
        assert LOCK_S * 1.9 < second <= LOCK_S * 2
        assert LOCK_S * 3.9 < third <= LOCK_S * 4


class TestAttemptLimits:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(
            update={
                "login_free_failures": 100,
                "login_failures_per_minute_account": 4,
                "login_failures_per_minute_ip": 6,
            }
        )

    async def test_attempts_per_account_are_limited_across_addresses(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)  # a successful login counts for nothing
        statuses = []
        for n in range(5):
            async with await _client_from(app, f"10.0.0.{n + 1}") as other:
                response = await other.post(
                    "/api/auth/token", data=_form(user, "wrong-pw")
                )
                statuses.append(response.status_code)
        assert statuses == [401, 401, 401, 401, 429]

    async def test_attempts_per_address_are_limited_across_accounts(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        async with await _client_from(app, "192.0.2.10") as attacker:
            statuses = [
                (
                    await attacker.post(
                        "/api/auth/login",
                        json={"email": f"victim{n}@example.com", "password": "x"},
                    )
                ).status_code
                for n in range(7)
            ]
        assert statuses == [401] * 6 + [429]
