"""POST /api/threads/{thread_id}/messages: a message stored, nothing generated."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Account
from tests.threads.builders import (
    MESSAGE_KEYS,
    assert_error,
    count_messages,
    get_thread,
    new_message,
    new_thread,
)

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app

SEED_MESSAGE = {
    "role": "user",
    "content": "Объясни, пожалуйста, как работает алгоритм кластеризации K-means",
    "tokens": 16,
    "model": None,
    "provider": None,
    "metadata": {"browser": "Chrome", "os": "Windows 11", "source": "web"},
}


class TestCreateMessage:
    async def test_stores_the_seed_message(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        response = await client.post(
            f"/api/threads/{thread['id']}/messages",
            json=SEED_MESSAGE,
            headers=alice.headers,
        )
        assert response.status_code == 201, response.text
        message = response.json()
        assert set(message) >= MESSAGE_KEYS
        assert message["thread_id"] == thread["id"]
        assert message["role"] == "user"
        assert message["content"] == SEED_MESSAGE["content"]
        assert message["tokens"] == 16
        assert (message["model"], message["provider"]) == (None, None)
        assert message["meta_data"] == SEED_MESSAGE["metadata"]
        assert message["status"] == "complete"
        assert message["parent_id"] is None
        shown = await get_thread(client, alice, thread["id"])
        assert shown["messages"] == [message]

    async def test_accepts_meta_data_as_the_field_name(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        message = await new_message(
            client, alice, thread["id"], meta_data={"cost": 0.01, "nested": [1, 2]}
        )
        assert message["meta_data"] == {"cost": 0.01, "nested": [1, 2]}

    async def test_stores_an_assistant_message_with_its_model(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        message = await new_message(
            client,
            alice,
            thread["id"],
            role="assistant",
            content="Answer",
            tokens=262,
            model="gpt-4o",
            provider="openai",
        )
        assert (message["role"], message["model"], message["provider"]) == (
            "assistant",
            "gpt-4o",
            "openai",
        )
        assert message["meta_data"] == {}

    async def test_follows_the_active_leaf_and_updates_the_thread(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, system_prompt="S", initial_message="U")
        leaf = thread["messages"][-1]
        answer = await new_message(client, alice, thread["id"], role="assistant")
        follow_up = await new_message(client, alice, thread["id"], content="more")
        assert answer["parent_id"] == leaf["id"]
        assert follow_up["parent_id"] == answer["id"]
        shown = await get_thread(client, alice, thread["id"])
        assert shown["message_count"] == 4
        assert shown["last_message_at"] == follow_up["created_at"]
        assert shown["last_message_at"] > thread["last_message_at"]
        assert [m["id"] for m in shown["messages"][-2:]] == [
            answer["id"],
            follow_up["id"],
        ]

    async def test_explicit_parent_starts_a_branch(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, initial_message="Q")
        (question,) = thread["messages"]
        await new_message(client, alice, thread["id"], role="assistant", content="A1")
        other = await new_message(
            client,
            alice,
            thread["id"],
            role="assistant",
            content="A2",
            parent_id=question["id"],
        )
        after = await new_message(client, alice, thread["id"], content="next")
        shown = await get_thread(client, alice, thread["id"])
        assert [m["content"] for m in shown["messages"]] == ["Q", "A2", "next"]
        assert other["parent_id"] == question["id"]
        assert after["parent_id"] == other["id"]
        assert shown["message_count"] == 4

    async def test_parent_in_another_thread_is_not_found(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        elsewhere = await new_thread(client, alice, initial_message="elsewhere")
        thread = await new_thread(client, alice)
        parent_id = elsewhere["messages"][0]["id"]
        response = await client.post(
            f"/api/threads/{thread['id']}/messages",
            json={"role": "user", "content": "x", "parent_id": parent_id},
            headers=alice.headers,
        )
        assert_error(response, 404, "not_found")
        assert str(parent_id) in response.json()["error_message"]
        assert await count_messages(app, thread["id"]) == 0

    async def test_unknown_parent_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        response = await client.post(
            f"/api/threads/{thread['id']}/messages",
            json={"role": "user", "content": "x", "parent_id": 987654},
            headers=alice.headers,
        )
        assert_error(response, 404, "not_found")
        assert (await get_thread(client, alice, thread["id"]))["message_count"] == 0

    async def test_other_users_thread_is_not_found(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
    ) -> None:
        thread = await new_thread(client, alice, initial_message="mine")
        response = await client.post(
            f"/api/threads/{thread['id']}/messages",
            json=SEED_MESSAGE,
            headers=bob.headers,
        )
        assert_error(response, 404, "not_found")
        assert await get_thread(client, alice, thread["id"]) == thread
        assert await count_messages(app, thread["id"]) == 1

    async def test_unknown_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        response = await client.post(
            "/api/threads/424242/messages", json=SEED_MESSAGE, headers=alice.headers
        )
        assert_error(response, 404, "not_found")

    @pytest.mark.parametrize(
        "override",
        [
            {"role": "tool"},
            {"role": None},
            {"content": None},
            {"content": 42},
            {"content": "x" * 1_000_001},
            {"content": "nul\u0000byte"},
            {"content": "lone \ud800 surrogate"},
            {"tokens": -1},
            {"tokens": 2**40},
            {"metadata": "not an object"},
            {"metadata": {"blob": "x" * 70_000}},
            {"metadata": {"nul": "\u0000"}},
            {"metadata": {"lone": "\udfff"}},
            {"parent_id": -1},
            {"parent_id": "abc"},
            {"model": "m" * 201},
        ],
    )
    async def test_bad_input_is_rejected(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        alice: Account,
        override: dict[str, Any],
    ) -> None:
        thread = await new_thread(client, alice)
        # json.dumps escapes to ASCII, so lone surrogates reach the server.
        response = await client.post(
            f"/api/threads/{thread['id']}/messages",
            content=json.dumps({**SEED_MESSAGE, **override}),
            headers={**alice.headers, "Content-Type": "application/json"},
        )
        assert_error(response, 422, "validation_error")
        assert await count_messages(app, thread["id"]) == 0

    async def test_missing_fields_are_rejected(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        response = await client.post(
            f"/api/threads/{thread['id']}/messages", json={}, headers=alice.headers
        )
        assert_error(response, 422, "validation_error")

    async def test_body_over_the_limit_is_refused(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        response = await client.post(
            f"/api/threads/{thread['id']}/messages",
            json={"role": "user", "content": "я" * 1_000_000},
            headers=alice.headers,
        )
        assert_error(response, 413, "payload_too_large")
