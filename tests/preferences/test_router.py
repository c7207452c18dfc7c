from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Account, make_user

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app

URL = "/api/models/preferences"
BODY: dict[str, Any] = {
    "provider": "anthropic",
    "model": "claude-3-opus",
    "max_tokens": 2000,
    "temperature": 0.5,
    "system_prompt": "Ты профессиональный копирайтер",
    "is_default": True,
}
FIELDS = {
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
BAD_IDS = ["0", "-1", "abc", "1.5", "99999999999999999999", "1%20OR%201=1"]


async def _create(
    client: httpx.AsyncClient, user: Account, **kw: Any
) -> dict[str, Any]:
    response = await client.post(URL, json={**BODY, **kw}, headers=user.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def _get(client: httpx.AsyncClient, user: Account, pid: int) -> dict[str, Any]:
    response = await client.get(f"{URL}/{pid}", headers=user.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _defaults(client: httpx.AsyncClient, user: Account) -> dict[str, Any]:
    response = await client.get(f"{URL}/default", headers=user.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _assert_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == error_type
    assert isinstance(body["error_message"], str)


class TestCreatePreference:
    async def test_returns_the_seed_shape(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        body = await _create(client, user)
        assert set(body) == FIELDS
        assert body["user_id"] == user.id
        assert {k: body[k] for k in BODY} == BODY

    async def test_only_provider_and_model_are_required(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            URL, json={"provider": "openai", "model": "gpt-4"}, headers=user.headers
        )
        assert response.status_code == 201
        body = response.json()
        assert body["max_tokens"] is None
        assert body["temperature"] is None
        assert body["system_prompt"] is None
        assert body["is_default"] is False

    async def test_provider_is_trimmed_and_lowercased(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        body = await _create(client, user, provider=" OpenAI ")
        assert body["provider"] == "openai"

    @pytest.mark.parametrize(
        "change",
        [
            {"temperature": 0},
            {"temperature": 2},
            {"max_tokens": 1},
            {"max_tokens": 1_000_000},
            {"provider": "p" * 64},
            {"provider": "openai_compatible"},
            {"model": "m" * 200},
        ],
    )
    async def test_boundary_values_are_accepted(
        self, client: httpx.AsyncClient, change: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        body = await _create(client, user, **change)
        assert {k: body[k] for k in change} == change

    @pytest.mark.parametrize(
        "change",
        [
            {"temperature": -0.01},
            {"temperature": 2.01},
            {"temperature": "hot"},
            {"max_tokens": 0},
            {"max_tokens": -5},
            {"max_tokens": 1_000_001},
            {"max_tokens": 2.5},
            {"max_tokens": "many"},
            {"provider": ""},
            {"provider": "   "},
            {"provider": None},
            {"provider": "Bad Name"},
            {"provider": "p" * 65},
            {"provider": "../etc"},
            {"provider": "open'ai; --"},
            {"model": ""},
            {"model": "  "},
            {"model": "m" * 201},
            {"model": "a\nb"},
            {"model": None},
            {"system_prompt": "s" * 100_001},
            {"system_prompt": "nul\x00"},
            {"is_default": "sometimes"},
        ],
    )
    async def test_invalid_values_are_validation_errors(
        self, client: httpx.AsyncClient, change: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.post(URL, json={**BODY, **change}, headers=user.headers)
        _assert_error(response, 422, "validation_error")
        listed = await client.get(URL, headers=user.headers)
        assert listed.json() == []

    @pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
    async def test_non_finite_temperature_is_a_validation_error(
        self, client: httpx.AsyncClient, raw: bytes
    ) -> None:
        user = await make_user(client)
        content = b'{"provider": "openai", "model": "m", "temperature": ' + raw + b"}"
        response = await client.post(
            URL,
            content=content,
            headers={**user.headers, "content-type": "application/json"},
        )
        _assert_error(response, 422, "validation_error")


class TestListPreferences:
    async def test_is_an_array_of_own_preferences_by_id(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        first = await _create(client, user, provider="openai", model="gpt-4")
        second = await _create(client, user)
        await _create(client, other)
        response = await client.get(URL, headers=user.headers)
        assert response.status_code == 200
        assert [p["id"] for p in response.json()] == [first["id"], second["id"]]
        assert all(set(p) == FIELDS for p in response.json())

    async def test_skip_and_limit_page_through_it(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        ids = [(await _create(client, user, model=f"m{i}"))["id"] for i in range(4)]
        page = await client.get(
            URL, params={"skip": 1, "limit": 2}, headers=user.headers
        )
        assert [p["id"] for p in page.json()] == ids[1:3]

    @pytest.mark.parametrize("params", [{"skip": -1}, {"limit": 0}, {"limit": 5000}])
    async def test_bad_paging_is_a_validation_error(
        self, client: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.get(URL, params=params, headers=user.headers)
        _assert_error(response, 422, "validation_error")


class TestDefaultPreferences:
    async def test_is_an_object_keyed_by_provider(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        openai = await _create(client, user, provider="openai", model="gpt-3.5-turbo")
        anthropic = await _create(client, user)
        await _create(client, user, provider="qwen", model="qwen-max", is_default=False)
        defaults = await _defaults(client, user)
        assert defaults == {"openai": openai, "anthropic": anthropic}

    async def test_is_empty_without_defaults(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        await _create(client, user, is_default=False)
        assert await _defaults(client, user) == {}

    async def test_a_new_default_clears_the_providers_previous_one(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        first = await _create(client, user)
        openai = await _create(client, user, provider="openai", model="gpt-4")
        second = await _create(client, user, model="claude-3-5-sonnet")
        defaults = await _defaults(client, user)
        assert defaults["anthropic"]["id"] == second["id"]
        assert defaults["openai"]["id"] == openai["id"]
        assert (await _get(client, user, first["id"]))["is_default"] is False

    async def test_a_non_default_leaves_the_default_alone(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        first = await _create(client, user)
        await _create(client, user, model="claude-3-haiku", is_default=False)
        assert (await _defaults(client, user))["anthropic"]["id"] == first["id"]

    async def test_other_users_defaults_are_separate(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        mine = await _create(client, user)
        await _create(client, other)
        assert (await _get(client, user, mine["id"]))["is_default"] is True
        assert (await _defaults(client, user))["anthropic"]["id"] == mine["id"]


class TestGetPreference:
    async def test_returns_it(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        created = await _create(client, user)
        assert await _get(client, user, created["id"]) == created

    async def test_unknown_id_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.get(f"{URL}/424242", headers=user.headers)
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
                f"{URL}/{bad_id}",
                json={"model": "x"} if method == "put" else None,
                headers=user.headers,
            )
            _assert_error(response, 422, "validation_error")


class TestUpdatePreference:
    async def test_changes_only_the_fields_sent(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        pref = await _create(client, user)
        response = await client.put(
            f"{URL}/{pref['id']}",
            json={"max_tokens": 4000, "temperature": 0.3},
            headers=user.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["max_tokens"], body["temperature"]) == (4000, 0.3)
        for field in ("provider", "model", "system_prompt", "is_default"):
            assert body[field] == pref[field]

    async def test_null_clears_optional_fields_only(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        pref = await _create(client, user)
        response = await client.put(
            f"{URL}/{pref['id']}",
            json=dict.fromkeys(
                ["provider", "model", "max_tokens", "temperature", "system_prompt"]
            )
            | {"is_default": None},
            headers=user.headers,
        )
        body = response.json()
        assert (body["provider"], body["model"], body["is_default"]) == (
            "anthropic",
            "claude-3-opus",
            True,
        )
        assert body["max_tokens"] is None
        assert body["temperature"] is None
        assert body["system_prompt"] is None

    async def test_making_one_default_clears_the_others(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        first = await _create(client, user)
        second = await _create(client, user, is_default=False)
        response = await client.put(
            f"{URL}/{second['id']}", json={"is_default": True}, headers=user.headers
        )
        assert response.json()["is_default"] is True
        assert (await _get(client, user, first["id"]))["is_default"] is False
        assert (await _defaults(client, user))["anthropic"]["id"] == second["id"]

    async def test_moving_a_default_to_another_provider_clears_that_ones(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        openai = await _create(client, user, provider="openai", model="gpt-4")
        moved = await _create(client, user, model="claude-3-opus")
        response = await client.put(
            f"{URL}/{moved['id']}",
            json={"provider": "openai", "model": "gpt-4o"},
            headers=user.headers,
        )
        assert response.json()["is_default"] is True
        assert (await _get(client, user, openai["id"]))["is_default"] is False
        assert await _defaults(client, user) == {"openai": response.json()}

    async def test_unsetting_the_default_leaves_none(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        pref = await _create(client, user)
        await client.put(
            f"{URL}/{pref['id']}", json={"is_default": False}, headers=user.headers
        )
        assert await _defaults(client, user) == {}

    @pytest.mark.parametrize(
        "body",
        [{"temperature": 5}, {"max_tokens": 0}, {"provider": "A B"}, {"model": ""}],
    )
    async def test_invalid_values_are_rejected_and_nothing_changes(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        pref = await _create(client, user)
        response = await client.put(
            f"{URL}/{pref['id']}", json=body, headers=user.headers
        )
        _assert_error(response, 422, "validation_error")
        assert await _get(client, user, pref["id"]) == pref

    async def test_unknown_id_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.put(
            f"{URL}/424242", json={"model": "x"}, headers=user.headers
        )
        _assert_error(response, 404, "not_found")


class TestDeletePreference:
    async def test_removes_it_and_its_default(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        pref = await _create(client, user)
        response = await client.delete(f"{URL}/{pref['id']}", headers=user.headers)
        assert response.status_code == 204
        assert response.content == b""
        gone = await client.get(f"{URL}/{pref['id']}", headers=user.headers)
        _assert_error(gone, 404, "not_found")
        assert await _defaults(client, user) == {}

    async def test_unknown_id_is_not_found(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.delete(f"{URL}/424242", headers=user.headers)
        _assert_error(response, 404, "not_found")


class TestIsolation:
    async def test_other_users_preference_is_not_found_and_unchanged(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await make_user(client)
        intruder = await make_user(client)
        pref = await _create(client, owner)
        url = f"{URL}/{pref['id']}"
        for method, body in [
            ("get", None),
            ("put", {"model": "x", "is_default": False}),
            ("delete", None),
        ]:
            response = await client.request(
                method, url, json=body, headers=intruder.headers
            )
            _assert_error(response, 404, "not_found")
        assert await _get(client, owner, pref["id"]) == pref
        assert await _defaults(client, intruder) == {}
        assert (await client.get(URL, headers=intruder.headers)).json() == []

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", URL),
            ("post", URL),
            ("get", f"{URL}/default"),
            ("get", f"{URL}/1"),
            ("put", f"{URL}/1"),
            ("delete", f"{URL}/1"),
        ],
    )
    async def test_anonymous_callers_are_unauthorized(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        body = BODY if method in ("post", "put") else None
        response = await client.request(method, path, json=body)
        _assert_error(response, 401, "unauthorized")
