from __future__ import annotations

from typing import Any

import httpx

from tests.factories import make_user

BODY = {
    "title": "План маркетингового исследования",
    "content": "Проанализируй продукт {название_продукта} для {аудитория}.",
    "description": "Промпт для маркетинга",
    "is_favorite": True,
}


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **kw: Any
) -> dict[str, Any]:
    response = await client.post("/api/prompts/", json={**BODY, **kw}, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _category(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.post(
        "/api/categories/",
        json={"name": "Аналитика", "color": "#0000FF"},
        headers=headers,
    )
    category_id: int = response.json()["id"]
    return category_id


class TestPrompts:
    async def test_create_returns_the_seed_shape_with_its_category(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        category_id = await _category(client, user.headers)
        body = await _create(client, user.headers, category_id=category_id)
        assert body["category"]["id"] == category_id
        assert body["category"]["name"] == "Аналитика"
        assert body["category"]["color"] == "#0000FF"
        assert body["variables"] == ["название_продукта", "аудитория"]
        assert body["is_favorite"] is True

    async def test_filters(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        category_id = await _category(client, user.headers)
        await _create(client, user.headers, title="Alpha", category_id=category_id)
        await _create(
            client,
            user.headers,
            title="Beta",
            is_favorite=False,
            content="mentions GAMMA inside",
        )

        async def titles(**params: Any) -> list[str]:
            response = await client.get(
                "/api/prompts/", params=params, headers=user.headers
            )
            return sorted(p["title"] for p in response.json())

        assert await titles() == ["Alpha", "Beta"]
        assert await titles(category_id=category_id) == ["Alpha"]
        assert await titles(is_favorite="false") == ["Beta"]
        assert await titles(search="gamma") == ["Beta"]
        assert await titles(search="ALPH") == ["Alpha"]
        assert await titles(limit=1, skip=1) in (["Alpha"], ["Beta"])

    async def test_update_changes_fields_and_category(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await _create(client, user.headers)
        category_id = await _category(client, user.headers)
        response = await client.put(
            f"/api/prompts/{prompt['id']}",
            json={"title": "Новое", "category_id": category_id},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["title"] == "Новое"
        assert response.json()["category"]["id"] == category_id
        assert response.json()["content"] == BODY["content"]

    async def test_delete(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        prompt = await _create(client, user.headers)
        assert (
            await client.delete(f"/api/prompts/{prompt['id']}", headers=user.headers)
        ).status_code == 204
        assert (
            await client.get(f"/api/prompts/{prompt['id']}", headers=user.headers)
        ).status_code == 404

    async def test_another_users_category_cannot_be_used(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        foreign = await _category(client, other.headers)
        response = await client.post(
            "/api/prompts/", json={**BODY, "category_id": foreign}, headers=user.headers
        )
        assert response.status_code == 404
        assert str(foreign) in response.json()["error_message"]


class TestRender:
    async def test_fills_every_variable(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        prompt = await _create(client, user.headers)
        response = await client.post(
            f"/api/prompts/{prompt['id']}/render",
            json={
                "variables": {
                    "название_продукта": "aihub",
                    "аудитория": "команд",
                    "лишняя": "ignored",
                }
            },
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["text"] == "Проанализируй продукт aihub для команд."

    async def test_names_every_missing_variable(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        prompt = await _create(client, user.headers)
        response = await client.post(
            f"/api/prompts/{prompt['id']}/render",
            json={"variables": {}},
            headers=user.headers,
        )
        assert response.status_code == 422
        body = response.json()
        assert body["error_type"] == "validation_error"
        assert "название_продукта" in body["error_message"]
        assert "аудитория" in body["error_message"]


async def test_other_users_prompt_is_not_found_and_unchanged(
    client: httpx.AsyncClient,
) -> None:
    owner = await make_user(client)
    intruder = await make_user(client)
    prompt = await _create(client, owner.headers)
    base = f"/api/prompts/{prompt['id']}"
    for method, url, body in [
        ("get", base, None),
        ("put", base, {"title": "x"}),
        ("delete", base, None),
        ("post", base + "/render", {"variables": {}}),
    ]:
        response = await client.request(
            method, url, json=body, headers=intruder.headers
        )
        assert response.status_code == 404, (method, url)
    still = await client.get(base, headers=owner.headers)
    assert still.json()["title"] == BODY["title"]
    listed = await client.get("/api/prompts/", headers=intruder.headers)
    assert listed.json() == []
