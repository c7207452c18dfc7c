from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import make_user

BODY = {
    "provider": "anthropic",
    "model": "claude-3-opus",
    "max_tokens": 2000,
    "temperature": 0.5,
    "system_prompt": "Ты копирайтер",
    "is_default": True,
}


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **kw: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/models/preferences", json={**BODY, **kw}, headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


class TestPreferences:
    async def test_create_returns_the_seed_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        body = await _create(client, user.headers)
        assert set(body) == {
            "id",
            "user_id",
            "provider",
            "model",
            "max_tokens",
            "temperature",
            "system_prompt",
            "is_default",
            "created_at",
            "updated_at",
        }
        listed = await client.get("/api/models/preferences", headers=user.headers)
        assert [p["id"] for p in listed.json()] == [body["id"]]

    async def test_one_default_per_provider(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        first = await _create(client, user.headers)
        openai = await _create(
            client, user.headers, provider="openai", model="gpt-3.5-turbo"
        )
        second = await _create(client, user.headers, model="claude-3-5-sonnet")
        defaults = (
            await client.get("/api/models/preferences/default", headers=user.headers)
        ).json()
        assert set(defaults) == {"anthropic", "openai"}
        assert defaults["anthropic"]["id"] == second["id"]
        assert defaults["openai"]["id"] == openai["id"]
        again = await client.get(
            f"/api/models/preferences/{first['id']}", headers=user.headers
        )
        assert again.json()["is_default"] is False

    async def test_update_to_default_clears_the_others(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        first = await _create(client, user.headers)
        second = await _create(client, user.headers, is_default=False)
        response = await client.put(
            f"/api/models/preferences/{second['id']}",
            json={"is_default": True, "temperature": 0.3},
            headers=user.headers,
        )
        assert response.json()["is_default"] is True
        assert response.json()["temperature"] == 0.3
        old = await client.get(
            f"/api/models/preferences/{first['id']}", headers=user.headers
        )
        assert old.json()["is_default"] is False

    async def test_delete(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        pref = await _create(client, user.headers)
        response = await client.delete(
            f"/api/models/preferences/{pref['id']}", headers=user.headers
        )
        assert response.status_code == 204
        defaults = await client.get(
            "/api/models/preferences/default", headers=user.headers
        )
        assert defaults.json() == {}

    @pytest.mark.parametrize(
        "bad",
        [
            {"temperature": 3},
            {"max_tokens": 0},
            {"provider": ""},
            {"provider": "Bad Name"},
            {"model": ""},
        ],
    )
    async def test_invalid_values_are_rejected(
        self, client: httpx.AsyncClient, bad: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/models/preferences", json={**BODY, **bad}, headers=user.headers
        )
        assert response.status_code == 422


async def test_other_users_preference_is_not_found_and_unchanged(
    client: httpx.AsyncClient,
) -> None:
    owner = await make_user(client)
    intruder = await make_user(client)
    pref = await _create(client, owner.headers)
    url = f"/api/models/preferences/{pref['id']}"
    for method, body in [("get", None), ("put", {"model": "x"}), ("delete", None)]:
        response = await client.request(
            method, url, json=body, headers=intruder.headers
        )
        assert response.status_code == 404, method
    assert (await client.get(url, headers=owner.headers)).json()["model"] == (
        "claude-3-opus"
    )
    intruder_defaults = await client.get(
        "/api/models/preferences/default", headers=intruder.headers
    )
    assert intruder_defaults.json() == {}
