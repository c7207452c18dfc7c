"""POST /api/threads/bulk-delete and /api/threads/bulk-archive."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Account
from tests.threads.builders import (
    THREAD_KEYS,
    assert_error,
    count_messages,
    get_thread,
    list_threads,
    new_thread,
)

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app

BAD_BODIES: list[Any] = [
    {},
    {"thread_ids": "1,2"},
    {"thread_ids": [1, "two"]},
    {"thread_ids": [0]},
    {"thread_ids": [-7]},
    {"thread_ids": [2**40]},
    {"thread_ids": list(range(1, 1002))},
    {"thread_ids": None},
    [1, 2],
]


class TestBulkDeleteThreads:
    async def test_deletes_the_listed_threads(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        first = await new_thread(client, alice, initial_message="hi")
        second = await new_thread(client, alice)
        kept = await new_thread(client, alice, title="kept")
        response = await client.post(
            "/api/threads/bulk-delete",
            json={"thread_ids": [first["id"], second["id"]]},
            headers=alice.headers,
        )
        assert response.status_code == 204, response.text
        assert [t["id"] for t in await list_threads(client, alice)] == [kept["id"]]
        assert await count_messages(app, first["id"]) == 0

    async def test_leaves_other_users_threads_alone(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
    ) -> None:
        theirs = await new_thread(client, alice, initial_message="keep me")
        mine = await new_thread(client, bob)
        response = await client.post(
            "/api/threads/bulk-delete",
            json={"thread_ids": [theirs["id"], mine["id"]]},
            headers=bob.headers,
        )
        assert response.status_code == 204, response.text
        assert await get_thread(client, alice, theirs["id"]) == theirs
        assert await count_messages(app, theirs["id"]) == 1
        assert await list_threads(client, bob) == []

    async def test_unknown_and_repeated_ids_are_ignored(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        response = await client.post(
            "/api/threads/bulk-delete",
            json={"thread_ids": [thread["id"], thread["id"], 987654]},
            headers=alice.headers,
        )
        assert response.status_code == 204, response.text
        assert await list_threads(client, alice) == []

    async def test_empty_list_deletes_nothing(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await new_thread(client, alice)
        response = await client.post(
            "/api/threads/bulk-delete", json={"thread_ids": []}, headers=alice.headers
        )
        assert response.status_code == 204, response.text
        assert len(await list_threads(client, alice)) == 1

    @pytest.mark.parametrize("body", BAD_BODIES)
    async def test_bad_input_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, body: Any
    ) -> None:
        await new_thread(client, alice)
        response = await client.post(
            "/api/threads/bulk-delete", json=body, headers=alice.headers
        )
        assert_error(response, 422, "validation_error")
        assert len(await list_threads(client, alice)) == 1

    async def test_requires_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/threads/bulk-delete", json={"thread_ids": []}
        )
        assert_error(response, 401, "unauthorized")


class TestBulkArchiveThreads:
    async def test_archives_and_returns_the_threads(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        first = await new_thread(client, alice, title="first", initial_message="hi")
        second = await new_thread(client, alice, title="second")
        await new_thread(client, alice, title="untouched")
        response = await client.post(
            "/api/threads/bulk-archive",
            json={"thread_ids": [first["id"], second["id"]]},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
        archived = response.json()
        assert {t["id"] for t in archived} == {first["id"], second["id"]}
        for thread in archived:
            assert set(thread) >= THREAD_KEYS
            assert "messages" not in thread
            assert thread["is_archived"] is True
        assert next(t for t in archived if t["id"] == first["id"])["message_count"] == 1
        listed = await list_threads(client, alice, is_archived="false")
        assert [t["title"] for t in listed] == ["untouched"]

    async def test_leaves_other_users_threads_alone(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        theirs = await new_thread(client, alice)
        mine = await new_thread(client, bob)
        response = await client.post(
            "/api/threads/bulk-archive",
            json={"thread_ids": [theirs["id"], mine["id"]]},
            headers=bob.headers,
        )
        assert response.status_code == 200, response.text
        assert [t["id"] for t in response.json()] == [mine["id"]]
        assert await get_thread(client, alice, theirs["id"]) == theirs

    async def test_unknown_ids_return_an_empty_list(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        response = await client.post(
            "/api/threads/bulk-archive",
            json={"thread_ids": [987654]},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json() == []

    @pytest.mark.parametrize("body", BAD_BODIES)
    async def test_bad_input_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, body: Any
    ) -> None:
        thread = await new_thread(client, alice)
        response = await client.post(
            "/api/threads/bulk-archive", json=body, headers=alice.headers
        )
        assert_error(response, 422, "validation_error")
        assert await get_thread(client, alice, thread["id"]) == thread
