"""Seed 002: POST /api/ask, GET /api/requests/recent and the admin's view of
every question (GET /api/admin/requests[?user_id], /api/admin/requests/{id})."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from aihub.runtime import runtime_of
from aihub.usage.models import RequestLog
from tests.chat.helpers import add_key
from tests.factories import Account, admin_headers, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.fakes.wire import FakeUsage

ASK = "/api/ask"
RECENT = "/api/requests/recent"
ADMIN = "/api/admin/requests"


async def user_with_key(
    client: httpx.AsyncClient, upstream: FakeUpstream, secret: str
) -> Account:
    user = await make_user(client)
    await add_key(client, user, upstream, secret)
    return user


async def ask(
    client: httpx.AsyncClient, user: Account, question: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        ASK, json={"question": question, **extra}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def recent(
    client: httpx.AsyncClient, user: Account, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(RECENT, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


def assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    data = response.json()
    assert data["error"] is True
    assert data["error_type"] == error_type
    assert data["error_message"]


class TestAsk:
    async def test_answer_shape_and_upstream_request(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ask-1")
        fake_upstream.script(
            "sk-ask-1",
            [
                Reply(
                    text="Paris.",
                    usage=FakeUsage(prompt_tokens=12, completion_tokens=2),
                )
            ],
        )
        answer = await ask(client, user, "What is the capital of France?")
        assert set(answer) == {"id", "question", "answer", "model", "created_at"}
        assert isinstance(answer["id"], int)
        assert answer["question"] == "What is the capital of France?"
        assert answer["answer"] == "Paris."
        assert answer["model"] == "gpt-4o-mini"
        datetime.fromisoformat(answer["created_at"])
        sent = fake_upstream.last_request
        assert sent.key == "sk-ask-1"
        assert sent.json["messages"][-1] == {
            "role": "user",
            "content": "What is the capital of France?",
        }
        async with runtime_of(app).sessionmaker() as session:
            row = await session.get(RequestLog, answer["id"])
        assert row is not None
        assert (row.kind, row.user_id, row.status) == ("ask", user.id, "ok")
        assert (row.prompt_tokens, row.completion_tokens) == (12, 2)
        # gpt-4o-mini: input 0.15, output 0.6 USD per 1M tokens
        assert row.cost == pytest.approx((12 * 0.15 + 2 * 0.6) / 1_000_000)

    @pytest.mark.parametrize(
        ("model", "secret", "path"),
        [
            pytest.param("gpt-4o-mini", "sk-ask-openai", "/v1/chat/completions"),
            ("claude-haiku-4-5", "sk-ant-ask", "/v1/messages"),
        ],
    )
    async def test_model_picks_the_model(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        model: str,
        secret: str,
        path: str,
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-ask-openai")
        await add_key(client, user, fake_upstream, "sk-ant-ask", provider="anthropic")
        answer = await ask(client, user, "Who are you?", model=model)
        assert answer["model"] == model
        assert answer["answer"] == "echo: Who are you?"
        sent = fake_upstream.last_request
        assert sent.key == secret
        assert sent.path == path
        # the provider's API name (a dated snapshot for Anthropic)
        assert sent.json["model"].startswith(model)
        assert len(fake_upstream.requests) == 1

    async def test_requires_authentication(self, client: httpx.AsyncClient) -> None:
        response = await client.post(ASK, json={"question": "hi"})
        assert response.status_code == 401
        assert response.json()["error"] is True

    @pytest.mark.parametrize(
        "payload",
        [{}, {"question": ""}, {"question": 3}, {"question": "hi", "model": ""}, []],
        ids=["empty", "blank", "number", "blank-model", "list"],
    )
    async def test_bad_body(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream, payload: Any
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ask-422")
        response = await client.post(ASK, json=payload, headers=user.headers)
        assert_error(response, 422, "validation_error")
        assert fake_upstream.requests == []

    async def test_no_key(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(ASK, json={"question": "hi"}, headers=user.headers)
        assert_error(response, 400, "api_key_not_found")
        assert await recent(client, user) == []

    @pytest.mark.parametrize(
        ("reply", "status", "error_type"),
        [
            (Reply(status=429, retry_after=600), 429, "rate_limit"),
            (Reply(status=402), 402, "billing"),
            (Reply(status=401), 400, "api_key_not_found"),
        ],
        ids=["429", "402", "401"],
    )
    async def test_failed_ask_is_not_in_the_history(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        reply: Reply,
        status: int,
        error_type: str,
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ask-fail")
        await ask(client, user, "Answered question")
        fake_upstream.script("sk-ask-fail", [reply])
        response = await client.post(
            ASK, json={"question": "Failed question"}, headers=user.headers
        )
        assert_error(response, status, error_type)
        history = await recent(client, user)
        assert [item["question"] for item in history] == ["Answered question"]

    async def test_upstream_down_is_502_and_not_in_history(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ask-500")
        fake_upstream.script("sk-ask-500", default=Reply(status=500))
        response = await client.post(
            ASK, json={"question": "Anyone there?"}, headers=user.headers
        )
        assert_error(response, 502, "api_error")
        assert await recent(client, user) == []


class TestRecent:
    async def test_last_three_newest_first_by_default(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ask-recent")
        asked = [await ask(client, user, f"Question {n}") for n in range(1, 6)]
        history = await recent(client, user)
        assert [item["question"] for item in history] == [
            "Question 5",
            "Question 4",
            "Question 3",
        ]
        assert [item["id"] for item in history] == [a["id"] for a in asked[:1:-1]]
        assert history[0] == asked[-1]
        assert history[0]["answer"] == "echo: Question 5"

    async def test_limit(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ask-limit")
        for n in range(1, 7):
            await ask(client, user, f"Q{n}")
        five = await recent(client, user, limit=5)
        assert [item["question"] for item in five] == ["Q6", "Q5", "Q4", "Q3", "Q2"]
        every = await recent(client, user, limit=100)
        assert len(every) == 6
        one = await recent(client, user, limit=1)
        assert [item["question"] for item in one] == ["Q6"]

    @pytest.mark.parametrize("limit", ["0", "101", "-1", "many"])
    async def test_bad_limit(self, client: httpx.AsyncClient, limit: str) -> None:
        user = await make_user(client)
        response = await client.get(
            RECENT, params={"limit": limit}, headers=user.headers
        )
        assert_error(response, 422, "validation_error")

    async def test_only_the_callers_questions(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        alice = await user_with_key(client, fake_upstream, "sk-ask-alice")
        bob = await user_with_key(client, fake_upstream, "sk-ask-bob")
        await ask(client, alice, "Alice asks")
        await ask(client, bob, "Bob asks")
        await ask(client, alice, "Alice again")
        assert [i["question"] for i in await recent(client, alice)] == [
            "Alice again",
            "Alice asks",
        ]
        assert [i["question"] for i in await recent(client, bob)] == ["Bob asks"]
        carol = await make_user(client)
        assert await recent(client, carol) == []

    async def test_other_calls_are_not_questions(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        """Direct completions are in the request log, not in the ask history."""
        user = await user_with_key(client, fake_upstream, "sk-ask-mixed")
        response = await client.post(
            "/api/threads/completion",
            json={"prompt": "not a question"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        await ask(client, user, "A real question")
        assert [i["question"] for i in await recent(client, user)] == [
            "A real question"
        ]

    async def test_requires_authentication(self, client: httpx.AsyncClient) -> None:
        response = await client.get(RECENT)
        assert response.status_code == 401


class TestAdmin:
    async def test_lists_every_users_questions_and_filters(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        admin = await admin_headers(client)
        alice = await user_with_key(client, fake_upstream, "sk-ask-adm-a")
        bob = await user_with_key(client, fake_upstream, "sk-ask-adm-b")
        a1 = await ask(client, alice, "Alice 1")
        b1 = await ask(client, bob, "Bob 1")
        a2 = await ask(client, alice, "Alice 2")
        a3 = await ask(client, alice, "Alice 3")
        a4 = await ask(client, alice, "Alice 4")
        response = await client.get(ADMIN, headers=admin)
        assert response.status_code == 200, response.text
        listed = response.json()
        # all of them, newest first: not limited to three
        assert [i["id"] for i in listed] == [
            a4["id"],
            a3["id"],
            a2["id"],
            b1["id"],
            a1["id"],
        ]
        by_id = {item["id"]: item for item in listed}
        assert by_id[b1["id"]]["user_id"] == bob.id
        assert by_id[b1["id"]]["question"] == "Bob 1"
        assert by_id[b1["id"]]["answer"] == "echo: Bob 1"
        assert by_id[a1["id"]]["user_id"] == alice.id
        for field in ("id", "question", "answer", "model", "created_at"):
            assert by_id[a1["id"]][field] == a1[field]
        only_bob = await client.get(ADMIN, params={"user_id": bob.id}, headers=admin)
        assert only_bob.status_code == 200
        assert [i["id"] for i in only_bob.json()] == [b1["id"]]
        paged = await client.get(ADMIN, params={"skip": 1, "limit": 2}, headers=admin)
        assert [i["id"] for i in paged.json()] == [a3["id"], a2["id"]]
        nobody = await client.get(ADMIN, params={"user_id": 999_999}, headers=admin)
        assert nobody.status_code == 200
        assert nobody.json() == []

    async def test_get_one(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        admin = await admin_headers(client)
        user = await user_with_key(client, fake_upstream, "sk-ask-adm-one")
        asked = await ask(client, user, "Just one")
        response = await client.get(f"{ADMIN}/{asked['id']}", headers=admin)
        assert response.status_code == 200, response.text
        one = response.json()
        assert one["id"] == asked["id"]
        assert one["question"] == "Just one"
        assert one["answer"] == "echo: Just one"
        assert one["user_id"] == user.id
        assert one["model"] == asked["model"]
        assert one["status"] == "ok"

    async def test_unknown_and_non_question_ids_are_404(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        admin = await admin_headers(client)
        user = await user_with_key(client, fake_upstream, "sk-ask-adm-404")
        response = await client.post(
            "/api/threads/completion", json={"prompt": "x"}, headers=user.headers
        )
        assert response.status_code == 200
        async with runtime_of(app).sessionmaker() as session:
            completion_id = await session.scalar(select(func.max(RequestLog.id)))
        assert completion_id is not None
        for request_id in (completion_id, 999_999):
            response = await client.get(f"{ADMIN}/{request_id}", headers=admin)
            assert_error(response, 404, "not_found")
        for bad in ("0", "abc"):
            response = await client.get(f"{ADMIN}/{bad}", headers=admin)
            assert_error(response, 422, "validation_error")

    async def test_non_admin_is_forbidden(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ask-adm-403")
        asked = await ask(client, user, "Mine")
        response = await client.get(ADMIN, headers=user.headers)
        assert_error(response, 403, "forbidden")
        response = await client.get(
            ADMIN, params={"user_id": user.id}, headers=user.headers
        )
        assert_error(response, 403, "forbidden")
        response = await client.get(f"{ADMIN}/{asked['id']}", headers=user.headers)
        assert_error(response, 403, "forbidden")
        assert (await client.get(ADMIN)).status_code == 401

    async def test_failed_ask_is_visible_to_the_admin_with_its_status(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        admin = await admin_headers(client)
        user = await user_with_key(client, fake_upstream, "sk-ask-adm-fail")
        fake_upstream.script("sk-ask-adm-fail", [Reply(status=402)])
        response = await client.post(
            ASK, json={"question": "Unpaid"}, headers=user.headers
        )
        assert response.status_code == 402
        listed = (await client.get(ADMIN, headers=admin)).json()
        assert [(i["question"], i["status"], i["answer"]) for i in listed] == [
            ("Unpaid", "error", "")
        ]
