"""POST/GET/PUT/DELETE /api/threads/... for one thread."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Account
from tests.threads.builders import (
    CATEGORY_KEYS,
    MESSAGE_KEYS,
    THREAD_KEYS,
    assert_error,
    count_messages,
    get_thread,
    list_threads,
    new_category,
    new_message,
    new_thread,
)

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app

SEED_BODY = {
    "title": "Анализ данных о продажах за 2023 год",
    "provider": "openai",
    "model": "gpt-4o",
    "is_pinned": False,
    "is_archived": False,
    "initial_message": "Как лучше визуализировать сезонные тренды?",
    "system_prompt": "Ты опытный аналитик данных",
    "max_tokens": 2000,
    "temperature": 0.8,
}
BAD_IDS = ["0", "-1", "abc", "99999999999999999999", "1%27%20OR%20%271%27=%271"]


class TestCreateThread:
    async def test_stores_system_prompt_then_user_message(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        category = await new_category(client, alice, "Аналитика данных")
        body = {**SEED_BODY, "category_id": category["id"]}
        response = await client.post("/api/threads/", json=body, headers=alice.headers)
        assert response.status_code == 201, response.text
        thread = response.json()
        assert set(thread) >= THREAD_KEYS | {"messages"}
        assert thread["user_id"] == alice.id
        assert thread["title"] == SEED_BODY["title"]
        assert (thread["provider"], thread["model"]) == ("openai", "gpt-4o")
        assert thread["message_count"] == 2
        assert set(thread["category"]) >= CATEGORY_KEYS
        assert thread["category"]["name"] == "Аналитика данных"
        system, user = thread["messages"]
        assert set(system) >= MESSAGE_KEYS
        assert (system["role"], system["content"]) == ("system", body["system_prompt"])
        assert (user["role"], user["content"]) == ("user", body["initial_message"])
        assert user["parent_id"] == system["id"]
        assert user["meta_data"] == {}
        assert user["tokens"] is None
        assert user["thread_id"] == thread["id"]

    async def test_stores_generation_settings_on_the_thread(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await new_thread(client, alice, **SEED_BODY)
        thread = await get_thread(client, alice, created["id"])
        assert thread["system_prompt"] == SEED_BODY["system_prompt"]
        assert thread["max_tokens"] == 2000
        assert thread["temperature"] == 0.8

    async def test_without_messages_stores_none(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, title="Empty")
        assert thread["message_count"] == 0
        assert thread["messages"] == []
        assert thread["category"] is None
        assert thread["category_id"] is None

    async def test_initial_message_alone_is_the_root(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, initial_message="Hi there")
        assert thread["message_count"] == 1
        (message,) = thread["messages"]
        assert message["role"] == "user"
        assert message["parent_id"] is None

    async def test_missing_title_comes_from_the_first_message(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        text = "Explain   k-means\nclustering " + "in simple words " * 10
        body = {"initial_message": text}
        response = await client.post("/api/threads/", json=body, headers=alice.headers)
        assert response.status_code == 201, response.text
        title = response.json()["title"]
        assert title.startswith("Explain k-means clustering in simple words")
        assert len(title) <= 61
        assert title.endswith("…")

    async def test_missing_title_without_message_is_a_default(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        response = await client.post("/api/threads/", json={}, headers=alice.headers)
        assert response.status_code == 201, response.text
        assert response.json()["title"] == "New thread"

    async def test_other_users_category_is_not_found(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        category = await new_category(client, bob)
        body = {**SEED_BODY, "category_id": category["id"]}
        response = await client.post("/api/threads/", json=body, headers=alice.headers)
        assert_error(response, 404, "not_found")
        assert str(category["id"]) in response.json()["error_message"]
        assert "ategory" in response.json()["error_message"]
        assert await list_threads(client, alice) == []

    async def test_unknown_category_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        body = {**SEED_BODY, "category_id": 987654}
        response = await client.post("/api/threads/", json=body, headers=alice.headers)
        assert_error(response, 404, "not_found")

    @pytest.mark.parametrize(
        "override",
        [
            {"title": "x" * 501},
            {"title": "bad\u0000title"},
            {"title": "lone \ud800 surrogate"},
            {"title": 12},
            {"temperature": 2.5},
            {"temperature": "hot"},
            {"max_tokens": 0},
            {"max_tokens": 2**40},
            {"category_id": -1},
            {"category_id": 2**40},
            {"category_id": "'; DROP TABLE threads; --"},
            {"initial_message": "x" * 1_000_001},
            {"initial_message": ["a"]},
            {"system_prompt": {"a": 1}},
            {"provider": "p" * 65},
            {"model": "m" * 201},
            {"is_pinned": "maybe"},
        ],
    )
    async def test_bad_input_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, override: dict[str, Any]
    ) -> None:
        headers = {**alice.headers, "Content-Type": "application/json"}
        # json.dumps escapes to ASCII, so lone surrogates reach the server.
        raw = json.dumps({**SEED_BODY, **override})
        response = await client.post("/api/threads/", content=raw, headers=headers)
        assert_error(response, 422, "validation_error")
        assert await list_threads(client, alice) == []

    @pytest.mark.parametrize("raw", [b"{not json", b"[]", b"null", b""])
    async def test_malformed_body_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, raw: bytes
    ) -> None:
        headers = {**alice.headers, "Content-Type": "application/json"}
        response = await client.post("/api/threads/", content=raw, headers=headers)
        assert_error(response, 422, "validation_error")

    async def test_requires_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/threads/", json=SEED_BODY)
        assert_error(response, 401, "unauthorized")


class TestGetThread:
    async def test_shows_the_active_branch_root_first(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, **SEED_BODY)
        system, user = thread["messages"]
        first = await new_message(client, alice, thread["id"], role="assistant")
        retry = await new_message(
            client, alice, thread["id"], role="assistant", parent_id=user["id"]
        )
        shown = await get_thread(client, alice, thread["id"])
        ids = [message["id"] for message in shown["messages"]]
        assert ids == [system["id"], user["id"], retry["id"]]
        assert first["id"] not in ids
        assert shown["message_count"] == 4

    async def test_returns_the_category(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        category = await new_category(client, alice)
        created = await new_thread(client, alice, category_id=category["id"])
        thread = await get_thread(client, alice, created["id"])
        assert thread["category"]["id"] == category["id"]
        assert thread["category"]["user_id"] == alice.id

    async def test_other_users_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        thread = await new_thread(client, alice, **SEED_BODY)
        response = await client.get(f"/api/threads/{thread['id']}", headers=bob.headers)
        assert_error(response, 404, "not_found")
        assert await get_thread(client, alice, thread["id"]) == thread

    async def test_unknown_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        response = await client.get("/api/threads/424242", headers=alice.headers)
        assert_error(response, 404, "not_found")

    @pytest.mark.parametrize("bad_id", BAD_IDS)
    async def test_bad_id_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, bad_id: str
    ) -> None:
        response = await client.get(f"/api/threads/{bad_id}", headers=alice.headers)
        assert 400 <= response.status_code < 500
        assert response.json()["error"] is True


class TestUpdateThread:
    async def test_changes_only_the_fields_sent(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, **SEED_BODY)
        body = {"title": "Оптимизация SQL-запросов", "is_pinned": True}
        response = await client.put(
            f"/api/threads/{thread['id']}", json=body, headers=alice.headers
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["title"] == "Оптимизация SQL-запросов"
        assert updated["is_pinned"] is True
        assert updated["is_archived"] is False
        assert updated["model"] == "gpt-4o"
        assert updated["temperature"] == 0.8
        assert updated["messages"] == thread["messages"]
        assert updated["message_count"] == 2
        assert updated["last_message_at"] == thread["last_message_at"]

    async def test_changes_generation_settings(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, **SEED_BODY)
        body = {
            "provider": "anthropic",
            "model": "claude-3-opus",
            "system_prompt": None,
            "max_tokens": 100,
            "temperature": 0,
        }
        response = await client.put(
            f"/api/threads/{thread['id']}", json=body, headers=alice.headers
        )
        assert response.status_code == 200, response.text
        shown = await get_thread(client, alice, thread["id"])
        assert shown["provider"] == "anthropic"
        assert shown["model"] == "claude-3-opus"
        assert shown["system_prompt"] is None
        assert (shown["max_tokens"], shown["temperature"]) == (100, 0)

    async def test_moves_the_thread_to_a_category(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        first = await new_category(client, alice, "First")
        second = await new_category(client, alice, "Second")
        thread = await new_thread(client, alice, category_id=first["id"])
        response = await client.put(
            f"/api/threads/{thread['id']}",
            json={"category_id": second["id"]},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["category_id"] == second["id"]
        assert response.json()["category"]["name"] == "Second"

    async def test_null_category_takes_it_out(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        category = await new_category(client, alice)
        thread = await new_thread(client, alice, category_id=category["id"])
        response = await client.put(
            f"/api/threads/{thread['id']}",
            json={"category_id": None},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["category_id"] is None
        assert response.json()["category"] is None

    async def test_other_users_category_is_not_found(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        category = await new_category(client, bob)
        thread = await new_thread(client, alice)
        response = await client.put(
            f"/api/threads/{thread['id']}",
            json={"category_id": category["id"], "title": "Changed"},
            headers=alice.headers,
        )
        assert_error(response, 404, "not_found")
        shown = await get_thread(client, alice, thread["id"])
        assert (shown["category_id"], shown["title"]) == (None, "A thread")

    async def test_other_users_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        thread = await new_thread(client, alice, **SEED_BODY)
        response = await client.put(
            f"/api/threads/{thread['id']}",
            json={"title": "Mine now", "is_archived": True},
            headers=bob.headers,
        )
        assert_error(response, 404, "not_found")
        assert await get_thread(client, alice, thread["id"]) == thread

    @pytest.mark.parametrize(
        "body",
        [
            {"title": None},
            {"title": "   "},
            {"title": "x" * 501},
            {"is_pinned": None},
            {"is_archived": "sometimes"},
            {"temperature": -0.1},
            {"max_tokens": -5},
            {"category_id": 0},
        ],
    )
    async def test_bad_input_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, body: dict[str, Any]
    ) -> None:
        thread = await new_thread(client, alice)
        response = await client.put(
            f"/api/threads/{thread['id']}", json=body, headers=alice.headers
        )
        assert_error(response, 422, "validation_error")
        assert await get_thread(client, alice, thread["id"]) == thread

    async def test_unknown_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        response = await client.put(
            "/api/threads/424242", json={"title": "x"}, headers=alice.headers
        )
        assert_error(response, 404, "not_found")


class TestDeleteThread:
    async def test_deletes_the_thread_and_its_messages(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, **SEED_BODY)
        await new_message(client, alice, thread["id"], role="assistant")
        response = await client.delete(
            f"/api/threads/{thread['id']}", headers=alice.headers
        )
        assert response.status_code == 204
        assert response.content == b""
        again = await client.get(f"/api/threads/{thread['id']}", headers=alice.headers)
        assert_error(again, 404, "not_found")
        assert await count_messages(app, thread["id"]) == 0

    async def test_other_users_thread_is_not_found(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
    ) -> None:
        thread = await new_thread(client, alice, **SEED_BODY)
        response = await client.delete(
            f"/api/threads/{thread['id']}", headers=bob.headers
        )
        assert_error(response, 404, "not_found")
        assert await get_thread(client, alice, thread["id"]) == thread
        assert await count_messages(app, thread["id"]) == 2

    @pytest.mark.parametrize("bad_id", BAD_IDS)
    async def test_bad_id_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, bad_id: str
    ) -> None:
        response = await client.delete(f"/api/threads/{bad_id}", headers=alice.headers)
        assert 400 <= response.status_code < 500
        assert response.json()["error"] is True
