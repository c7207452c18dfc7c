from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import make_user
from tests.prompts.builders import (
    BODY,
    PROMPT_KEYS,
    assert_error,
    create_category,
    create_prompt,
)

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app

BAD_IDS = ["0", "-1", "abc", "1.5", "99999999999999999999", "1%20OR%201=1"]


class TestCreatePrompt:
    async def test_returns_the_seed_shape_with_its_category(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await create_category(client, user.headers)
        body = await create_prompt(client, user.headers, category_id=category["id"])
        assert set(body) == PROMPT_KEYS
        assert body["user_id"] == user.id
        assert body["category_id"] == category["id"]
        assert body["category"] == {
            "id": category["id"],
            "name": "Аналитика",
            "description": "Про данные",
            "color": "#0000FF",
        }
        assert body["is_favorite"] is True
        assert body["variables"] == ["название_продукта", "аудитория"]

    async def test_without_a_category_has_null_category(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/prompts/",
            json={"title": "t", "content": "no variables here"},
            headers=user.headers,
        )
        assert response.status_code == 201
        body = response.json()
        assert body["category_id"] is None
        assert body["category"] is None
        assert body["description"] is None
        assert body["is_favorite"] is False
        assert body["variables"] == []

    async def test_another_users_category_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        foreign = await create_category(client, other.headers)
        response = await client.post(
            "/api/prompts/",
            json={**BODY, "category_id": foreign["id"]},
            headers=user.headers,
        )
        assert_error(response, 404, "not_found")
        assert "Category" in response.json()["error_message"]
        assert str(foreign["id"]) in response.json()["error_message"]
        listed = await client.get("/api/prompts/", headers=user.headers)
        assert listed.json() == []

    async def test_unknown_category_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/prompts/", json={**BODY, "category_id": 777777}, headers=user.headers
        )
        assert_error(response, 404, "not_found")
        assert "777777" in response.json()["error_message"]

    async def test_title_is_trimmed_and_content_kept_as_written(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        body = await create_prompt(
            client, user.headers, title="  Идеи  ", content="  {тема}\n\n"
        )
        assert body["title"] == "Идеи"
        assert body["content"] == "  {тема}\n\n"

    async def test_injection_text_is_stored_literally(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        content = "'; DROP TABLE prompts; -- <script>{x}</script> %_ \\"
        body = await create_prompt(client, user.headers, content=content)
        fetched = await client.get(f"/api/prompts/{body['id']}", headers=user.headers)
        assert fetched.json()["content"] == content

    @pytest.mark.parametrize(
        "change",
        [
            {"title": None},
            {"title": ""},
            {"title": "   "},
            {"title": "x" * 501},
            {"title": "a\nb"},
            {"title": 5},
            {"content": None},
            {"content": ""},
            {"content": "   \n"},
            {"content": "x" * 100_001},
            {"content": "nul\x00"},
            {"content": ["a"]},
            {"description": "d" * 5001},
            {"category_id": 0},
            {"category_id": -3},
            {"category_id": "three"},
            {"category_id": 2**31},
            {"is_favorite": "maybe"},
            {"is_favorite": [True]},
        ],
    )
    async def test_invalid_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, change: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/prompts/", json={**BODY, **change}, headers=user.headers
        )
        assert_error(response, 422, "validation_error")

    async def test_missing_fields_are_validation_errors(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/prompts/", json={"description": "x"}, headers=user.headers
        )
        assert_error(response, 422, "validation_error")
        assert "title" in response.json()["error_message"]
        assert "content" in response.json()["error_message"]


class TestGetPrompt:
    async def test_returns_it_with_its_category(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await create_category(client, user.headers)
        created = await create_prompt(client, user.headers, category_id=category["id"])
        response = await client.get(
            f"/api/prompts/{created['id']}", headers=user.headers
        )
        assert response.status_code == 200
        assert response.json() == created

    async def test_unknown_id_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.get("/api/prompts/424242", headers=user.headers)
        assert_error(response, 404, "not_found")
        assert "424242" in response.json()["error_message"]

    @pytest.mark.parametrize("bad_id", BAD_IDS)
    async def test_malformed_id_is_a_validation_error(
        self, client: httpx.AsyncClient, bad_id: str
    ) -> None:
        user = await make_user(client)
        calls: list[tuple[str, str, dict[str, Any] | None]] = [
            ("get", "", None),
            ("put", "", {"title": "x"}),
            ("delete", "", None),
            ("post", "/render", {"variables": {}}),
        ]
        for method, suffix, body in calls:
            response = await client.request(
                method,
                f"/api/prompts/{bad_id}{suffix}",
                json=body,
                headers=user.headers,
            )
            assert_error(response, 422, "validation_error")


class TestUpdatePrompt:
    async def test_changes_only_the_fields_sent(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        response = await client.put(
            f"/api/prompts/{prompt['id']}",
            json={"title": "Новое"},
            headers=user.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert body["title"] == "Новое"
        for field in ("content", "description", "is_favorite", "created_at"):
            assert body[field] == prompt[field]

    async def test_new_content_updates_the_variables(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        response = await client.put(
            f"/api/prompts/{prompt['id']}",
            json={"content": "Разработай план по теме {тема_исследования}"},
            headers=user.headers,
        )
        assert response.json()["variables"] == ["тема_исследования"]

    async def test_sets_and_clears_the_category(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        category = await create_category(client, user.headers)
        url = f"/api/prompts/{prompt['id']}"
        moved = await client.put(
            url, json={"category_id": category["id"]}, headers=user.headers
        )
        assert moved.json()["category"]["id"] == category["id"]
        cleared = await client.put(
            url, json={"category_id": None}, headers=user.headers
        )
        assert cleared.json()["category_id"] is None
        assert cleared.json()["category"] is None

    async def test_null_for_required_fields_is_ignored(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        response = await client.put(
            f"/api/prompts/{prompt['id']}",
            json={"title": None, "content": None, "is_favorite": None},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["title"] == prompt["title"]
        assert response.json()["content"] == prompt["content"]
        assert response.json()["is_favorite"] is True

    async def test_another_users_category_is_not_found_and_nothing_changes(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        foreign = await create_category(client, other.headers)
        url = f"/api/prompts/{prompt['id']}"
        response = await client.put(
            url,
            json={"title": "changed", "category_id": foreign["id"]},
            headers=user.headers,
        )
        assert_error(response, 404, "not_found")
        assert str(foreign["id"]) in response.json()["error_message"]
        assert (await client.get(url, headers=user.headers)).json() == prompt

    @pytest.mark.parametrize(
        "body", [{"title": ""}, {"content": "x" * 100_001}, {"is_favorite": "no!"}]
    )
    async def test_invalid_values_are_rejected_and_nothing_changes(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        url = f"/api/prompts/{prompt['id']}"
        response = await client.put(url, json=body, headers=user.headers)
        assert_error(response, 422, "validation_error")
        assert (await client.get(url, headers=user.headers)).json() == prompt

    async def test_unknown_id_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.put(
            "/api/prompts/424242", json={"title": "x"}, headers=user.headers
        )
        assert_error(response, 404, "not_found")


class TestDeletePrompt:
    async def test_removes_it(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        prompt = await create_prompt(client, user.headers)
        url = f"/api/prompts/{prompt['id']}"
        deleted = await client.delete(url, headers=user.headers)
        assert deleted.status_code == 204
        assert deleted.content == b""
        assert_error(await client.get(url, headers=user.headers), 404, "not_found")
        assert_error(await client.delete(url, headers=user.headers), 404, "not_found")

    async def test_keeps_its_category(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category = await create_category(client, user.headers)
        prompt = await create_prompt(client, user.headers, category_id=category["id"])
        await client.delete(f"/api/prompts/{prompt['id']}", headers=user.headers)
        kept = await client.get(
            f"/api/categories/{category['id']}", headers=user.headers
        )
        assert kept.status_code == 200


class TestIsolation:
    async def test_other_users_prompt_is_not_found_and_unchanged(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await make_user(client)
        intruder = await make_user(client)
        prompt = await create_prompt(client, owner.headers)
        base = f"/api/prompts/{prompt['id']}"
        for method, url, body in [
            ("get", base, None),
            ("put", base, {"title": "x", "is_favorite": False}),
            ("delete", base, None),
            (
                "post",
                base + "/render",
                {"variables": {"название_продукта": "a", "аудитория": "b"}},
            ),
        ]:
            response = await client.request(
                method, url, json=body, headers=intruder.headers
            )
            assert_error(response, 404, "not_found")
        assert (await client.get(base, headers=owner.headers)).json() == prompt

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/api/prompts/"),
            ("post", "/api/prompts/"),
            ("get", "/api/prompts/1"),
            ("put", "/api/prompts/1"),
            ("delete", "/api/prompts/1"),
            ("post", "/api/prompts/1/render"),
        ],
    )
    async def test_anonymous_callers_are_unauthorized(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        body = BODY if method in ("post", "put") else None
        response = await client.request(method, path, json=body)
        assert_error(response, 401, "unauthorized")
