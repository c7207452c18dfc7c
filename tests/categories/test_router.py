from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import make_user

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app

BODY = {"name": "Аналитика данных", "description": "Запросы", "color": "#0000FF"}
FIELDS = {"id", "user_id", "name", "description", "color", "created_at", "updated_at"}
BAD_IDS = ["0", "-1", "abc", "1.5", "99999999999999999999", "1%20OR%201=1"]


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **kw: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/categories/", json={**BODY, **kw}, headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == error_type
    assert isinstance(body["error_message"], str)


class TestCreateCategory:
    async def test_returns_the_seed_shape(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        body = await _create(client, user.headers)
        assert set(body) == FIELDS
        assert body["user_id"] == user.id
        assert (body["name"], body["description"], body["color"]) == (
            BODY["name"],
            BODY["description"],
            BODY["color"],
        )

    async def test_only_a_name_is_required(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/categories/", json={"name": "Учеба"}, headers=user.headers
        )
        assert response.status_code == 201
        assert response.json()["description"] is None
        assert response.json()["color"] is None

    async def test_short_hex_color_is_accepted(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        body = await _create(client, user.headers, color="#abc")
        assert body["color"] == "#abc"

    async def test_name_is_trimmed(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        body = await _create(client, user.headers, name="  Работа  ")
        assert body["name"] == "Работа"

    async def test_duplicate_name_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await _create(client, user.headers)
        response = await client.post(
            "/api/categories/", json=BODY, headers=user.headers
        )
        _assert_error(response, 409, "conflict")
        assert BODY["name"] in response.json()["error_message"]

    async def test_names_differing_only_in_case_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await _create(client, user.headers, name="Работа")
        response = await client.post(
            "/api/categories/", json={"name": "РАБОТА "}, headers=user.headers
        )
        _assert_error(response, 409, "conflict")

    async def test_two_users_may_use_the_same_name(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await make_user(client)
        second = await make_user(client)
        await _create(client, first.headers)
        body = await _create(client, second.headers)
        assert body["user_id"] == second.id

    async def test_injection_text_is_stored_literally(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        name = "x'); DROP TABLE categories; --"
        body = await _create(client, user.headers, name=name, description="<b>%_")
        fetched = await client.get(
            f"/api/categories/{body['id']}", headers=user.headers
        )
        assert fetched.json()["name"] == name
        assert fetched.json()["description"] == "<b>%_"

    async def test_unknown_fields_are_ignored(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        body = await _create(client, user.headers, user_id=999, id=5, extra=True)
        assert body["user_id"] == user.id

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"name": ""},
            {"name": "   "},
            {"name": "x" * 201},
            {"name": 123},
            {"name": None},
            {"name": ["a"]},
            {"name": "two\nlines"},
            {"name": "nul\x00byte"},
            {"name": "x", "description": "d" * 5001},
            {"name": "x", "description": "nul\x00"},
            {"name": "x", "color": "blue"},
            {"name": "x", "color": "#12345"},
            {"name": "x", "color": "#GGGGGG"},
            {"name": "x", "color": "#0000FF; DROP"},
            {"name": "x", "color": 255},
            {"color": "#fff"},
        ],
    )
    async def test_invalid_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/categories/", json=body, headers=user.headers
        )
        _assert_error(response, 422, "validation_error")

    @pytest.mark.parametrize(
        "raw", [b"{not json", b"", b"[]", b'"name"', b'{"name": "\\ud800"}']
    )
    async def test_malformed_json_is_a_validation_error(
        self, client: httpx.AsyncClient, raw: bytes
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/categories/",
            content=raw,
            headers={**user.headers, "content-type": "application/json"},
        )
        _assert_error(response, 422, "validation_error")


class TestListCategories:
    async def test_is_an_array_of_own_categories_by_name(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        await _create(client, user.headers, name="b")
        await _create(client, user.headers, name="a")
        await _create(client, other.headers, name="c")
        response = await client.get("/api/categories/", headers=user.headers)
        assert response.status_code == 200
        assert [c["name"] for c in response.json()] == ["a", "b"]
        assert all(set(c) == FIELDS for c in response.json())

    async def test_skip_and_limit_page_through_it(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for name in ["c", "a", "d", "b"]:
            await _create(client, user.headers, name=name)
        page = await client.get(
            "/api/categories/", params={"skip": 1, "limit": 2}, headers=user.headers
        )
        assert [c["name"] for c in page.json()] == ["b", "c"]
        beyond = await client.get(
            "/api/categories/", params={"skip": 10}, headers=user.headers
        )
        assert beyond.json() == []

    async def test_is_empty_for_a_new_user(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.get("/api/categories/", headers=user.headers)
        assert response.json() == []

    @pytest.mark.parametrize(
        "params",
        [{"skip": -1}, {"limit": 0}, {"limit": 1001}, {"skip": "x"}, {"limit": "1;"}],
    )
    async def test_bad_paging_is_a_validation_error(
        self, client: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.get(
            "/api/categories/", params=params, headers=user.headers
        )
        _assert_error(response, 422, "validation_error")


class TestGetCategory:
    async def test_returns_the_category(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        response = await client.get(
            f"/api/categories/{created['id']}", headers=user.headers
        )
        assert response.status_code == 200
        assert response.json() == created

    async def test_unknown_id_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.get("/api/categories/424242", headers=user.headers)
        _assert_error(response, 404, "not_found")
        assert "424242" in response.json()["error_message"]

    @pytest.mark.parametrize("bad_id", BAD_IDS)
    async def test_malformed_id_is_a_validation_error(
        self, client: httpx.AsyncClient, bad_id: str
    ) -> None:
        user = await make_user(client)
        for method in ("get", "put", "delete"):
            response = await client.request(
                method,
                f"/api/categories/{bad_id}",
                json={"name": "x"} if method == "put" else None,
                headers=user.headers,
            )
            _assert_error(response, 422, "validation_error")


class TestUpdateCategory:
    async def test_changes_only_the_fields_sent(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        updated = await client.put(
            f"/api/categories/{category['id']}",
            json={"color": "#800080"},
            headers=user.headers,
        )
        assert updated.status_code == 200
        assert updated.json()["color"] == "#800080"
        assert updated.json()["name"] == BODY["name"]
        assert updated.json()["description"] == BODY["description"]

    async def test_replaces_every_field(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        new = {
            "name": "Проекты по машинному обучению",
            "description": "Треды по ML",
            "color": "#800080",
        }
        updated = await client.put(
            f"/api/categories/{category['id']}", json=new, headers=user.headers
        )
        assert {k: updated.json()[k] for k in new} == new
        assert updated.json()["created_at"] == category["created_at"]

    async def test_null_clears_description_and_color_but_not_name(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        updated = await client.put(
            f"/api/categories/{category['id']}",
            json={"name": None, "description": None, "color": None},
            headers=user.headers,
        )
        assert updated.status_code == 200
        assert updated.json()["name"] == BODY["name"]
        assert updated.json()["description"] is None
        assert updated.json()["color"] is None

    async def test_renaming_to_another_categorys_name_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await _create(client, user.headers, name="Первая")
        second = await _create(client, user.headers, name="Вторая")
        response = await client.put(
            f"/api/categories/{second['id']}",
            json={"name": "первая"},
            headers=user.headers,
        )
        _assert_error(response, 409, "conflict")
        unchanged = await client.get(
            f"/api/categories/{second['id']}", headers=user.headers
        )
        assert unchanged.json()["name"] == "Вторая"

    async def test_changing_the_case_of_its_own_name_is_allowed(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers, name="работа")
        response = await client.put(
            f"/api/categories/{category['id']}",
            json={"name": "Работа"},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["name"] == "Работа"

    @pytest.mark.parametrize(
        "body", [{"name": ""}, {"name": "x" * 201}, {"color": "red"}, {"name": 1}]
    )
    async def test_invalid_values_are_rejected_and_nothing_changes(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        url = f"/api/categories/{category['id']}"
        response = await client.put(url, json=body, headers=user.headers)
        _assert_error(response, 422, "validation_error")
        assert (await client.get(url, headers=user.headers)).json() == category

    async def test_unknown_id_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.put(
            "/api/categories/424242", json={"name": "x"}, headers=user.headers
        )
        _assert_error(response, 404, "not_found")


class TestDeleteCategory:
    async def test_removes_it(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        url = f"/api/categories/{category['id']}"
        deleted = await client.delete(url, headers=user.headers)
        assert deleted.status_code == 204
        assert deleted.content == b""
        _assert_error(await client.get(url, headers=user.headers), 404, "not_found")
        again = await client.delete(url, headers=user.headers)
        _assert_error(again, 404, "not_found")

    async def test_keeps_its_threads_uncategorised(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        thread = await client.post(
            "/api/threads/",
            json={"title": "t", "category_id": category["id"]},
            headers=user.headers,
        )
        assert thread.status_code == 201, thread.text
        await client.delete(f"/api/categories/{category['id']}", headers=user.headers)
        kept = await client.get(
            f"/api/threads/{thread.json()['id']}", headers=user.headers
        )
        assert kept.status_code == 200
        assert kept.json()["category_id"] is None

    async def test_keeps_its_prompts_uncategorised(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        prompt = await client.post(
            "/api/prompts/",
            json={"title": "p", "content": "c", "category_id": category["id"]},
            headers=user.headers,
        )
        assert prompt.status_code == 201, prompt.text
        await client.delete(f"/api/categories/{category['id']}", headers=user.headers)
        kept = await client.get(
            f"/api/prompts/{prompt.json()['id']}", headers=user.headers
        )
        assert kept.status_code == 200
        assert kept.json()["category_id"] is None
        assert kept.json()["category"] is None

    async def test_frees_its_name(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        await client.delete(f"/api/categories/{category['id']}", headers=user.headers)
        await _create(client, user.headers)


class TestIsolation:
    async def test_other_users_category_is_not_found_and_unchanged(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await make_user(client)
        intruder = await make_user(client)
        category = await _create(client, owner.headers)
        url = f"/api/categories/{category['id']}"
        for method, body in [
            ("get", None),
            ("put", {"name": "mine now", "color": "#000"}),
            ("delete", None),
        ]:
            response = await client.request(
                method, url, json=body, headers=intruder.headers
            )
            _assert_error(response, 404, "not_found")
        assert (await client.get(url, headers=owner.headers)).json() == category

    async def test_other_users_names_do_not_conflict_on_rename(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await make_user(client)
        other = await make_user(client)
        await _create(client, other.headers, name="Общая")
        mine = await _create(client, owner.headers, name="Моя")
        response = await client.put(
            f"/api/categories/{mine['id']}",
            json={"name": "Общая"},
            headers=owner.headers,
        )
        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", "/api/categories/"),
            ("post", "/api/categories/"),
            ("get", "/api/categories/1"),
            ("put", "/api/categories/1"),
            ("delete", "/api/categories/1"),
        ],
    )
    async def test_anonymous_callers_are_unauthorized(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        body = BODY if method in ("post", "put") else None
        response = await client.request(method, path, json=body)
        _assert_error(response, 401, "unauthorized")
        garbage = await client.request(
            method, path, json=body, headers={"Authorization": "Bearer not-a-jwt"}
        )
        _assert_error(garbage, 401, "unauthorized")
