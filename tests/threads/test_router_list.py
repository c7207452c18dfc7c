"""GET /api/threads/: filters, search, order and paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Account
from tests.threads.builders import (
    THREAD_KEYS,
    assert_error,
    list_threads,
    new_category,
    new_message,
    new_thread,
)

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app


def _titles(threads: list[dict[str, Any]]) -> list[str]:
    return [thread["title"] for thread in threads]


class TestListThreads:
    async def test_lists_own_threads_without_messages(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        category = await new_category(client, alice)
        mine = await new_thread(
            client,
            alice,
            title="Mine",
            category_id=category["id"],
            system_prompt="Be brief",
            initial_message="Hello",
        )
        await new_thread(client, bob, title="Bob's")
        threads = await list_threads(client, alice)
        assert _titles(threads) == ["Mine"]
        (thread,) = threads
        assert set(thread) >= THREAD_KEYS
        assert "messages" not in thread
        assert thread["message_count"] == 2
        assert thread["category"]["id"] == category["id"]
        assert thread["id"] == mine["id"]

    async def test_empty_for_a_new_user(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        assert await list_threads(client, alice) == []

    async def test_pinned_first_then_latest_activity(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        oldest = await new_thread(client, alice, title="oldest")
        await new_thread(client, alice, title="middle")
        await new_thread(client, alice, title="newest")
        await new_message(client, alice, oldest["id"])
        assert _titles(await list_threads(client, alice)) == [
            "oldest",
            "newest",
            "middle",
        ]
        await new_thread(client, alice, title="pinned", is_pinned=True)
        await new_message(client, alice, oldest["id"])
        assert _titles(await list_threads(client, alice)) == [
            "pinned",
            "oldest",
            "newest",
            "middle",
        ]

    async def test_filters_by_category(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        work = await new_category(client, alice, "Work")
        home = await new_category(client, alice, "Home")
        await new_thread(client, alice, title="w", category_id=work["id"])
        await new_thread(client, alice, title="h", category_id=home["id"])
        await new_thread(client, alice, title="none")
        threads = await list_threads(client, alice, category_id=work["id"])
        assert _titles(threads) == ["w"]

    async def test_other_users_category_filter_finds_nothing(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        category = await new_category(client, alice)
        await new_thread(client, alice, category_id=category["id"])
        assert await list_threads(client, bob, category_id=category["id"]) == []

    @pytest.mark.parametrize(
        ("value", "expected"), [("true", ["archived"]), ("false", ["active"])]
    )
    async def test_filters_by_archived(
        self, client: httpx.AsyncClient, alice: Account, value: str, expected: list[str]
    ) -> None:
        await new_thread(client, alice, title="archived", is_archived=True)
        await new_thread(client, alice, title="active")
        assert _titles(await list_threads(client, alice, is_archived=value)) == expected

    @pytest.mark.parametrize(
        ("value", "expected"), [("true", ["pinned"]), ("false", ["loose"])]
    )
    async def test_filters_by_pinned(
        self, client: httpx.AsyncClient, alice: Account, value: str, expected: list[str]
    ) -> None:
        await new_thread(client, alice, title="pinned", is_pinned=True)
        await new_thread(client, alice, title="loose")
        assert _titles(await list_threads(client, alice, is_pinned=value)) == expected

    async def test_filters_combine(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await new_thread(client, alice, title="report pinned", is_pinned=True)
        await new_thread(client, alice, title="report loose")
        await new_thread(client, alice, title="other pinned", is_pinned=True)
        threads = await list_threads(client, alice, is_pinned="true", search="report")
        assert _titles(threads) == ["report pinned"]

    async def test_skip_and_limit_page_through(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        for n in range(5):
            await new_thread(client, alice, title=f"t{n}")
        first = await list_threads(client, alice, skip=0, limit=2)
        second = await list_threads(client, alice, skip=2, limit=2)
        last = await list_threads(client, alice, skip=4, limit=2)
        assert _titles(first + second + last) == ["t4", "t3", "t2", "t1", "t0"]

    @pytest.mark.parametrize(
        "params",
        [
            {"limit": 0},
            {"limit": 1001},
            {"limit": "many"},
            {"skip": -1},
            {"category_id": "abc"},
            {"category_id": -3},
            {"category_id": 2**40},
            {"is_pinned": "perhaps"},
            {"is_archived": "2"},
            {"search": "x" * 201},
            {"search": "a\u0000b"},
        ],
    )
    async def test_bad_query_is_rejected(
        self, client: httpx.AsyncClient, alice: Account, params: dict[str, Any]
    ) -> None:
        response = await client.get(
            "/api/threads/", params=params, headers=alice.headers
        )
        assert_error(response, 422, "validation_error")

    @pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE"])
    async def test_undecodable_search_finds_nothing(
        self, client: httpx.AsyncClient, alice: Account, raw: str
    ) -> None:
        await new_thread(client, alice)
        response = await client.get(
            f"/api/threads/?search={raw}", headers=alice.headers
        )
        assert response.status_code == 200, response.text
        assert response.json() == []

    async def test_requires_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/threads/")
        assert_error(response, 401, "unauthorized")


class TestSearchThreads:
    async def test_ignores_case_beyond_ascii(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await new_thread(client, alice, title="Анализ ПРОДАЖ")
        assert _titles(await list_threads(client, alice, search="продаж")) == [
            "Анализ ПРОДАЖ"
        ]

    async def test_matches_the_title_ignoring_case(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await new_thread(client, alice, title="Quarterly SALES report")
        await new_thread(client, alice, title="Holiday plans")
        threads = await list_threads(client, alice, search="sales Report")
        assert _titles(threads) == ["Quarterly SALES report"]

    async def test_matches_message_text_only(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, title="Untitled")
        await new_message(client, alice, thread["id"], content="About K-Means here")
        await new_thread(client, alice, title="Other", initial_message="nothing")
        threads = await list_threads(client, alice, search="k-means")
        assert _titles(threads) == ["Untitled"]

    async def test_matches_the_system_prompt_message(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await new_thread(client, alice, title="A", system_prompt="You are a PIRATE")
        assert _titles(await list_threads(client, alice, search="pirate")) == ["A"]

    async def test_lists_a_thread_once_however_many_messages_match(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice, title="needle in title")
        for _ in range(3):
            await new_message(client, alice, thread["id"], content="needle again")
        threads = await list_threads(client, alice, search="needle")
        assert [t["id"] for t in threads] == [thread["id"]]

    async def test_does_not_see_other_users_messages(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        theirs = await new_thread(client, bob, title="Bob's")
        await new_message(client, bob, theirs["id"], content="secret word")
        assert await list_threads(client, alice, search="secret") == []

    @pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
    async def test_takes_like_wildcards_literally(
        self, client: httpx.AsyncClient, alice: Account, wildcard: str
    ) -> None:
        await new_thread(client, alice, title=f"50{wildcard} off")
        await new_thread(client, alice, title="plain title")
        threads = await list_threads(client, alice, search=wildcard)
        assert _titles(threads) == [f"50{wildcard} off"]

    async def test_injection_string_is_plain_text(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await new_thread(client, alice, title="safe")
        injection = "'; DROP TABLE threads; --"
        assert await list_threads(client, alice, search=injection) == []
        assert _titles(await list_threads(client, alice)) == ["safe"]

    async def test_blank_search_lists_everything(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        await new_thread(client, alice, title="one")
        assert _titles(await list_threads(client, alice, search="  ")) == ["one"]
