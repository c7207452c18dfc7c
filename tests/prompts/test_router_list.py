from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Account, make_user
from tests.prompts.builders import (
    PROMPT_KEYS,
    assert_error,
    create_category,
    create_prompt,
)

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app


async def _titles(client: httpx.AsyncClient, user: Account, **params: Any) -> list[str]:
    response = await client.get("/api/prompts/", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return [p["title"] for p in response.json()]


class TestListPrompts:
    async def test_is_an_array_of_own_prompts_in_the_seed_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        category = await create_category(client, user.headers)
        await create_prompt(client, user.headers, category_id=category["id"])
        await create_prompt(client, other.headers, title="чужой")
        response = await client.get("/api/prompts/", headers=user.headers)
        assert response.status_code == 200
        [item] = response.json()
        assert set(item) == PROMPT_KEYS
        assert item["category"]["name"] == "Аналитика"
        assert item["variables"] == ["название_продукта", "аудитория"]

    async def test_most_recently_updated_comes_first(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        first = await create_prompt(client, user.headers, title="first")
        await create_prompt(client, user.headers, title="second")
        assert await _titles(client, user) == ["second", "first"]
        await client.put(
            f"/api/prompts/{first['id']}",
            json={"is_favorite": False},
            headers=user.headers,
        )
        assert await _titles(client, user) == ["first", "second"]

    async def test_skip_and_limit_page_through_it(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for title in ["a", "b", "c", "d"]:
            await create_prompt(client, user.headers, title=title)
        assert await _titles(client, user, skip=1, limit=2) == ["c", "b"]
        assert await _titles(client, user, skip=4) == []

    async def test_filters_by_category(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category = await create_category(client, user.headers)
        await create_prompt(
            client, user.headers, title="in", category_id=category["id"]
        )
        await create_prompt(client, user.headers, title="out")
        assert await _titles(client, user, category_id=category["id"]) == ["in"]

    async def test_filter_by_another_users_category_finds_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        foreign = await create_category(client, other.headers)
        await create_prompt(client, other.headers, category_id=foreign["id"])
        await create_prompt(client, user.headers)
        assert await _titles(client, user, category_id=foreign["id"]) == []

    async def test_filters_by_favorite(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        await create_prompt(client, user.headers, title="fav", is_favorite=True)
        await create_prompt(client, user.headers, title="plain", is_favorite=False)
        assert await _titles(client, user, is_favorite="true") == ["fav"]
        assert await _titles(client, user, is_favorite="false") == ["plain"]

    async def test_filters_combine(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category = await create_category(client, user.headers)
        cid = category["id"]
        await create_prompt(client, user.headers, title="a", category_id=cid)
        await create_prompt(
            client, user.headers, title="b", category_id=cid, is_favorite=False
        )
        await create_prompt(client, user.headers, title="c", is_favorite=False)
        titles = await _titles(client, user, category_id=cid, is_favorite="false")
        assert titles == ["b"]

    @pytest.mark.parametrize(
        "params",
        [
            {"skip": -1},
            {"limit": 0},
            {"limit": 1001},
            {"category_id": 0},
            {"category_id": "x"},
            {"category_id": "99999999999999"},
            {"is_favorite": "maybe"},
            {"search": "x" * 501},
            {"search": "nul\x00"},
        ],
    )
    async def test_bad_query_is_a_validation_error(
        self, client: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.get(
            "/api/prompts/", params=params, headers=user.headers
        )
        assert_error(response, 422, "validation_error")


class TestSearchPrompts:
    async def test_matches_title_or_content_ignoring_case(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await create_prompt(client, user.headers, title="Alpha", content="one")
        await create_prompt(client, user.headers, title="Beta", content="has GAMMA")
        assert await _titles(client, user, search="gamma") == ["Beta"]
        assert await _titles(client, user, search="ALPH") == ["Alpha"]
        assert sorted(await _titles(client, user, search="a")) == ["Alpha", "Beta"]

    async def test_ignores_case_of_cyrillic_text(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await create_prompt(
            client, user.headers, title="Статья", content="Идеи на ТЕМУ {тема}"
        )
        await create_prompt(client, user.headers, title="Другое", content="ничего")
        assert await _titles(client, user, search="тему") == ["Статья"]
        assert await _titles(client, user, search="СТАТЬ") == ["Статья"]

    async def test_like_wildcards_are_taken_literally(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await create_prompt(client, user.headers, title="скидка 100%", content="c")
        await create_prompt(client, user.headers, title="snake_case", content="c")
        await create_prompt(client, user.headers, title="path\\to", content="c")
        await create_prompt(client, user.headers, title="plain 1000", content="c")
        assert await _titles(client, user, search="100%") == ["скидка 100%"]
        assert await _titles(client, user, search="%") == ["скидка 100%"]
        assert await _titles(client, user, search="_") == ["snake_case"]
        assert await _titles(client, user, search="\\") == ["path\\to"]

    async def test_blank_search_is_no_filter(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        await create_prompt(client, user.headers, title="one")
        assert await _titles(client, user, search="   ") == ["one"]

    async def test_injection_text_matches_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await create_prompt(client, user.headers)
        titles = await _titles(client, user, search="' OR '1'='1")
        assert titles == []

    async def test_never_finds_another_users_prompts(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        await create_prompt(client, other.headers, title="секрет")
        assert await _titles(client, user, search="секрет") == []
