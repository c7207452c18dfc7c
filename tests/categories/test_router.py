from __future__ import annotations

import httpx
import pytest

from tests.factories import make_user

BODY = {"name": "Аналитика данных", "description": "Запросы", "color": "#0000FF"}


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **kw: str
) -> dict:
    response = await client.post(
        "/api/categories/", json={**BODY, **kw}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


class TestCategories:
    async def test_create_returns_the_seed_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        body = await _create(client, user.headers)
        assert set(body) == {
            "id",
            "user_id",
            "name",
            "description",
            "color",
            "created_at",
            "updated_at",
        }
        assert body["user_id"] == user.id
        assert body["name"] == BODY["name"]

    async def test_list_is_an_array_of_own_categories_by_name(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        await _create(client, user.headers, name="b")
        await _create(client, user.headers, name="a")
        await _create(client, other.headers, name="c")
        response = await client.get("/api/categories/", headers=user.headers)
        assert [c["name"] for c in response.json()] == ["a", "b"]
        page = await client.get("/api/categories/?skip=1&limit=1", headers=user.headers)
        assert [c["name"] for c in page.json()] == ["b"]

    async def test_update_and_delete(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        updated = await client.put(
            f"/api/categories/{category['id']}",
            json={"color": "#800080"},
            headers=user.headers,
        )
        assert updated.json()["color"] == "#800080"
        assert updated.json()["name"] == BODY["name"]
        deleted = await client.delete(
            f"/api/categories/{category['id']}", headers=user.headers
        )
        assert deleted.status_code == 204
        gone = await client.get(
            f"/api/categories/{category['id']}", headers=user.headers
        )
        assert gone.status_code == 404

    async def test_duplicate_name_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await _create(client, user.headers)
        response = await client.post(
            "/api/categories/", json=BODY, headers=user.headers
        )
        assert response.status_code == 409

    @pytest.mark.parametrize(
        "body",
        [
            {"name": ""},
            {"name": "x", "color": "blue"},
            {"name": "x" * 201},
            {"color": "#fff"},
        ],
    )
    async def test_invalid_bodies_are_rejected(
        self, client: httpx.AsyncClient, body: dict[str, str]
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/categories/", json=body, headers=user.headers
        )
        assert response.status_code == 422

    async def test_deleting_a_category_keeps_its_threads(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category = await _create(client, user.headers)
        thread = await client.post(
            "/api/threads/",
            json={"title": "t", "category_id": category["id"]},
            headers=user.headers,
        )
        await client.delete(f"/api/categories/{category['id']}", headers=user.headers)
        kept = await client.get(
            f"/api/threads/{thread.json()['id']}", headers=user.headers
        )
        assert kept.status_code == 200
        assert kept.json()["category_id"] is None


async def test_other_users_category_is_not_found_and_unchanged(
    client: httpx.AsyncClient,
) -> None:
    owner = await make_user(client)
    intruder = await make_user(client)
    category = await _create(client, owner.headers)
    url = f"/api/categories/{category['id']}"
    for method, body in [
        ("get", None),
        ("put", {"name": "mine now"}),
        ("delete", None),
    ]:
        response = await client.request(
            method, url, json=body, headers=intruder.headers
        )
        assert response.status_code == 404, method
        assert response.json()["error_type"] == "not_found"
    still = await client.get(url, headers=owner.headers)
    assert still.json()["name"] == BODY["name"]
