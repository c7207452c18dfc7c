"""POST /api/threads/completion (seed 003 "Прямое взаимодействие с AI"): the
seed's shape, the per-user cache of deterministic requests, errors, and one
request log row per call."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from aihub.core.settings import Settings
from aihub.runtime import runtime_of
from aihub.usage.models import RequestLog
from tests.chat.helpers import add_key
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.fakes.wire import FakeUsage

URL = "/api/threads/completion"
M = 1_000_000
SEED_BODY = {
    "provider": "openai",
    "model": "gpt-4o",
    "prompt": "Напиши стихотворение о весне в Санкт-Петербурге",
    "max_tokens": 1500,
    "temperature": 0.8,
    "system_prompt": "Ты талантливый поэт, который пишет стихи в классическом стиле",
}


def body(**overrides: Any) -> dict[str, Any]:
    return {**SEED_BODY, **overrides}


async def rows(app: FastAPI, user: Account) -> list[RequestLog]:
    async with runtime_of(app).sessionmaker() as session:
        stmt = (
            select(RequestLog)
            .where(RequestLog.user_id == user.id)
            .order_by(RequestLog.id)
        )
        return list((await session.scalars(stmt)).all())


async def user_with_key(
    client: httpx.AsyncClient, upstream: FakeUpstream, secret: str
) -> Account:
    user = await make_user(client)
    await add_key(client, user, upstream, secret)
    return user


def assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    data = response.json()
    assert data["error"] is True
    assert data["error_type"] == error_type
    assert isinstance(data["error_message"], str)
    assert data["error_message"]


class TestShape:
    async def test_seed_request_and_answer(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-shape")
        fake_upstream.script(
            "sk-comp-shape",
            [
                Reply(
                    text="Над Невой туман рассветный",
                    usage=FakeUsage(prompt_tokens=42, completion_tokens=220),
                )
            ],
        )
        response = await client.post(URL, json=body(), headers=user.headers)
        assert response.status_code == 200, response.text
        data = response.json()
        assert set(data) == {
            "text",
            "model",
            "provider",
            "tokens",
            "cost",
            "from_cache",
        }
        assert data["text"] == "Над Невой туман рассветный"
        assert (data["model"], data["provider"]) == ("gpt-4o", "openai")
        assert data["tokens"] == {
            "prompt_tokens": 42,
            "completion_tokens": 220,
            "total_tokens": 262,
        }
        # gpt-4o: input 2.5, output 10 USD per 1M tokens
        assert data["cost"] == pytest.approx((42 * 2.5 + 220 * 10.0) / M, rel=1e-6)
        assert data["from_cache"] is False
        sent = fake_upstream.last_request.json
        assert sent["model"] == "gpt-4o"
        assert sent["messages"] == [
            {"role": "system", "content": SEED_BODY["system_prompt"]},
            {"role": "user", "content": SEED_BODY["prompt"]},
        ]
        assert sent["temperature"] == 0.8
        assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 1500
        assert not sent.get("stream")
        [row] = await rows(app, user)
        assert row.kind == "completion"
        assert (row.provider, row.model) == ("openai", "gpt-4o")
        assert row.status == "ok"
        assert row.is_cached is False
        assert (row.prompt_tokens, row.completion_tokens) == (42, 220)
        assert row.cost == pytest.approx(data["cost"])
        assert row.thread_id is None

    async def test_prompt_only_uses_the_default_model_of_the_key(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-default")
        response = await client.post(URL, json={"prompt": "hi"}, headers=user.headers)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["provider"] == "openai"
        assert data["text"] == "echo: hi"
        assert fake_upstream.last_request.json["model"] == data["model"]

    async def test_no_thread_is_created(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-nothread")
        response = await client.post(URL, json=body(), headers=user.headers)
        assert response.status_code == 200, response.text
        threads = await client.get("/api/threads/", headers=user.headers)
        assert threads.status_code == 200
        listed = threads.json()
        items = listed["items"] if isinstance(listed, dict) else listed
        assert items == []

    async def test_requires_authentication(self, client: httpx.AsyncClient) -> None:
        response = await client.post(URL, json=body())
        assert response.status_code == 401
        assert response.json()["error"] is True


class TestCache:
    async def test_temperature_zero_is_answered_from_cache(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-cache")
        fake_upstream.script(
            "sk-comp-cache",
            [
                Reply(
                    text="Deterministic",
                    usage=FakeUsage(prompt_tokens=30, completion_tokens=10),
                ),
                Reply(text="A second, different answer"),
            ],
        )
        request = body(temperature=0)
        first = await client.post(URL, json=request, headers=user.headers)
        second = await client.post(URL, json=request, headers=user.headers)
        assert first.status_code == 200, first.text
        assert second.status_code == 200, second.text
        a, b = first.json(), second.json()
        assert a["from_cache"] is False
        assert a["cost"] > 0
        assert b["from_cache"] is True
        assert b["cost"] == 0
        assert b["text"] == "Deterministic"
        assert (b["model"], b["provider"]) == (a["model"], a["provider"])
        assert b["tokens"] == a["tokens"]
        assert len(fake_upstream.requests_for("sk-comp-cache")) == 1
        logged = await rows(app, user)
        assert len(logged) == 2
        assert [r.is_cached for r in logged] == [False, True]
        assert logged[0].cost == pytest.approx(a["cost"])
        assert logged[1].cost == 0
        assert logged[1].status == "ok"
        assert logged[1].provider_key_id is None
        assert (logged[1].prompt_tokens, logged[1].completion_tokens) == (30, 10)

    async def test_cache_true_caches_at_temperature_08(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-cache-true")
        fake_upstream.script(
            "sk-comp-cache-true", [Reply(text="Creative once"), Reply(text="Again")]
        )
        request = body(temperature=0.8, cache=True)
        first = await client.post(URL, json=request, headers=user.headers)
        second = await client.post(URL, json=request, headers=user.headers)
        assert second.status_code == 200, second.text
        assert first.json()["from_cache"] is False
        assert second.json()["from_cache"] is True
        assert second.json()["text"] == "Creative once"
        assert second.json()["cost"] == 0
        assert len(fake_upstream.requests_for("sk-comp-cache-true")) == 1

    async def test_temperature_08_without_cache_calls_twice(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-nocache")
        fake_upstream.script(
            "sk-comp-nocache", [Reply(text="First poem"), Reply(text="Second poem")]
        )
        first = await client.post(URL, json=body(), headers=user.headers)
        second = await client.post(URL, json=body(), headers=user.headers)
        assert [first.json()["text"], second.json()["text"]] == [
            "First poem",
            "Second poem",
        ]
        assert second.json()["from_cache"] is False
        assert second.json()["cost"] > 0
        assert len(fake_upstream.requests_for("sk-comp-nocache")) == 2
        assert [r.is_cached for r in await rows(app, user)] == [False, False]

    async def test_cache_false_never_caches_even_at_temperature_zero(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-cache-false")
        request = body(temperature=0, cache=False)
        for _ in range(2):
            response = await client.post(URL, json=request, headers=user.headers)
            assert response.status_code == 200, response.text
            assert response.json()["from_cache"] is False
        assert len(fake_upstream.requests_for("sk-comp-cache-false")) == 2

    @pytest.mark.parametrize(
        "change",
        [
            {"prompt": "Another prompt entirely"},
            {"model": "gpt-4o-mini"},
            {"system_prompt": "Another system prompt"},
            {"max_tokens": 100},
        ],
        ids=["prompt", "model", "system_prompt", "max_tokens"],
    )
    async def test_a_different_request_is_a_miss(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        change: dict[str, Any],
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-miss")
        fake_upstream.script("sk-comp-miss", [Reply(text="One"), Reply(text="Two")])
        first = await client.post(URL, json=body(temperature=0), headers=user.headers)
        second = await client.post(
            URL, json=body(temperature=0, **change), headers=user.headers
        )
        assert first.status_code == 200, first.text
        assert second.status_code == 200, second.text
        assert second.json()["from_cache"] is False
        assert second.json()["text"] == "Two"
        assert len(fake_upstream.requests_for("sk-comp-miss")) == 2

    async def test_cache_is_per_user(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        alice = await user_with_key(client, fake_upstream, "sk-comp-alice")
        bob = await user_with_key(client, fake_upstream, "sk-comp-bob")
        fake_upstream.script("sk-comp-alice", [Reply(text="Alice's answer")])
        fake_upstream.script("sk-comp-bob", [Reply(text="Bob's answer")])
        request = body(temperature=0)
        first = await client.post(URL, json=request, headers=alice.headers)
        assert first.json()["text"] == "Alice's answer"
        second = await client.post(URL, json=request, headers=bob.headers)
        assert second.status_code == 200, second.text
        assert second.json()["from_cache"] is False
        assert second.json()["text"] == "Bob's answer"
        assert len(fake_upstream.requests_for("sk-comp-bob")) == 1
        assert [r.is_cached for r in await rows(app, bob)] == [False]
        # and Alice's own repeat is still her cached answer
        third = await client.post(URL, json=request, headers=alice.headers)
        assert third.json()["from_cache"] is True
        assert third.json()["text"] == "Alice's answer"

    async def test_cache_shared_by_a_global_key_is_still_per_user(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        """Two users served by the admin's global key: still two calls."""
        from tests.factories import admin_headers

        admin = await admin_headers(client)
        created = await client.post(
            "/api/admin/api-keys/",
            json={
                "provider": "openai",
                "api_key": "sk-comp-global",
                "name": "global",
                "base_url": fake_upstream.base_url("openai"),
            },
            headers=admin,
        )
        assert created.status_code == 201, created.text
        alice, bob = await make_user(client), await make_user(client)
        request = body(temperature=0, prompt="Shared question")
        for user in (alice, bob):
            response = await client.post(URL, json=request, headers=user.headers)
            assert response.status_code == 200, response.text
            assert response.json()["from_cache"] is False
        assert len(fake_upstream.requests_for("sk-comp-global")) == 2


class TestErrors:
    async def test_no_key(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        response = await client.post(URL, json=body(), headers=user.headers)
        assert_error(response, 400, "api_key_not_found")
        response = await client.post(URL, json={"prompt": "hi"}, headers=user.headers)
        assert_error(response, 400, "api_key_not_found")
        assert fake_upstream.requests == []

    async def test_rate_limited_only_key(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-429")
        fake_upstream.script("sk-comp-429", [Reply(status=429, retry_after=600)])
        response = await client.post(URL, json=body(), headers=user.headers)
        assert_error(response, 429, "rate_limit")
        assert int(response.headers["Retry-After"]) > 0
        assert len(fake_upstream.requests_for("sk-comp-429")) == 1
        [row] = await rows(app, user)
        assert (row.status, row.error_type, row.cost) == ("error", "rate_limit", 0)

    async def test_payment_required(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-402")
        fake_upstream.script("sk-comp-402", [Reply(status=402)])
        response = await client.post(URL, json=body(), headers=user.headers)
        assert_error(response, 402, "billing")
        [row] = await rows(app, user)
        assert (row.status, row.error_type) == ("error", "billing")

    async def test_rejected_key(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-401")
        fake_upstream.script("sk-comp-401", [Reply(status=401)])
        response = await client.post(URL, json=body(), headers=user.headers)
        assert_error(response, 400, "api_key_not_found")
        assert "sk-comp-401" not in response.text
        [row] = await rows(app, user)
        assert (row.status, row.error_type) == ("error", "api_key_not_found")

    async def test_upstream_down(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        settings: Settings,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-500")
        fake_upstream.script("sk-comp-500", default=Reply(status=500))
        response = await client.post(URL, json=body(), headers=user.headers)
        assert_error(response, 502, "api_error")
        attempts = fake_upstream.requests_for("sk-comp-500")
        assert len(attempts) == settings.upstream_retries + 1
        [row] = await rows(app, user)
        assert (row.status, row.error_type, row.cost) == ("error", "api_error", 0)

    async def test_a_failure_is_not_cached(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-fail-once")
        fake_upstream.script(
            "sk-comp-fail-once", [Reply(status=400), Reply(text="Now it works")]
        )
        request = body(temperature=0)
        first = await client.post(URL, json=request, headers=user.headers)
        assert first.status_code == 400, first.text
        second = await client.post(URL, json=request, headers=user.headers)
        assert second.status_code == 200, second.text
        assert second.json()["from_cache"] is False
        assert second.json()["text"] == "Now it works"

    @pytest.mark.parametrize(
        "payload",
        [
            {},
            {"prompt": ""},
            {"prompt": 5},
            {"prompt": "hi", "temperature": 5},
            {"prompt": "hi", "temperature": "hot"},
            {"prompt": "hi", "max_tokens": 0},
            {"prompt": "hi", "max_tokens": -1},
            {"prompt": "hi", "cache": "sometimes"},
            ["prompt"],
        ],
        ids=[
            "empty",
            "blank-prompt",
            "prompt-number",
            "temperature-high",
            "temperature-text",
            "max-tokens-0",
            "max-tokens-negative",
            "cache-text",
            "list",
        ],
    )
    async def test_bad_body(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        payload: Any,
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-422")
        response = await client.post(URL, json=payload, headers=user.headers)
        assert_error(response, 422, "validation_error")
        assert fake_upstream.requests == []

    async def test_malformed_json(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-json")
        response = await client.post(
            URL,
            content=b'{"prompt": ',
            headers={**user.headers, "Content-Type": "application/json"},
        )
        # Like every unreadable body: a validation error naming the body.
        assert_error(response, 422, "validation_error")
        assert "JSON decode error" in response.json()["error_message"]
        assert fake_upstream.requests == []

    async def test_unknown_provider(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-comp-unknown")
        response = await client.post(
            URL, json=body(provider="skynet"), headers=user.headers
        )
        assert_error(response, 422, "validation_error")
        assert "skynet" in response.json()["error_message"]
        assert fake_upstream.requests == []
