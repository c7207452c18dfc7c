from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from structlog.testing import capture_logs

from aihub.core.security import SecretBox
from aihub.runtime import runtime_of
from tests.factories import admin_headers, make_user
from tests.provider_keys.conftest import MakeApp

SECRET = "sk-ant-api-key-123456789"
SEED_BODY = {
    "provider": "anthropic",
    "api_key": SECRET,
    "name": "Claude API Key",
    "is_active": True,
}
SEED_FIELDS = {
    "id",
    "user_id",
    "provider",
    "api_key",
    "name",
    "is_active",
    "created_at",
    "updated_at",
}
EXTRA_FIELDS = {
    "base_url",
    "settings",
    "is_global",
    "status",
    "cooldown_until",
    "last_error",
    "last_used_at",
}


async def _create(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    url: str = "/api/api-keys/",
    **overrides: Any,
) -> dict[str, Any]:
    response = await client.post(url, json={**SEED_BODY, **overrides}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _raw_rows(app: FastAPI) -> list[dict[str, Any]]:
    async with runtime_of(app).engine.connect() as conn:
        result = await conn.execute(text("SELECT * FROM provider_keys"))
        return [dict(row._mapping) for row in result]


class TestCreate:
    async def test_returns_the_seed_shape_with_the_key_masked(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        body = await _create(client, user.headers)
        assert set(body) == SEED_FIELDS | EXTRA_FIELDS
        assert body["api_key"] == "sk-ant-api****789"
        assert body["user_id"] == user.id
        assert body["provider"] == "anthropic"
        assert body["name"] == "Claude API Key"
        assert body["is_active"] is True
        assert body["is_global"] is False
        assert body["status"] == "ok"
        assert body["cooldown_until"] is None
        assert body["last_error"] is None
        assert body["settings"] == {}

    async def test_stores_the_key_only_encrypted(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        [row] = await _raw_rows(app)
        assert all(SECRET not in str(value) for value in row.values())
        box = SecretBox(runtime_of(app).secret_key)
        assert box.decrypt(row["encrypted_key"]) == SECRET
        for response in (
            await client.get("/api/api-keys/", headers=user.headers),
            await client.get(f"/api/api-keys/{created['id']}", headers=user.headers),
        ):
            assert SECRET not in response.text

    async def test_azure_key_keeps_base_url_and_settings(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        settings = {"api_version": "2024-10-21", "deployments": {"gpt-4o": "my-4o"}}
        body = await _create(
            client,
            user.headers,
            provider="azure",
            base_url="https://127.0.0.1:8443/",
            settings=settings,
        )
        assert body["base_url"] == "https://127.0.0.1:8443"
        assert body["settings"] == settings

    @pytest.mark.parametrize(
        "overrides",
        [
            {"provider": "cohere"},
            {"provider": "openai_compatible"},
            {"provider": "azure", "base_url": None},
            {"base_url": "ftp://models.example.com"},
            {"base_url": "http://user:pass@models.example.com"},
            {"base_url": "not a url"},
            {"base_url": "http://" + "a" * 1000 + ".com"},
            {"api_key": ""},
            {"api_key": "   "},
            {"api_key": "sk key with spaces"},
            {"api_key": "sk-\u00e9\u00e9\u00e9"},
            {"api_key": "x" * 5000},
            {"api_key": 12345},
            {"name": "n" * 201},
            {"is_active": "maybe"},
            {"settings": ["not", "an", "object"]},
            {"settings": {"blob": "x" * 20_000}},
            {"settings": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}}},
            {"settings": {"deployments": {"gpt-4o": 5}}},
            {"settings": {"api_version": 2024}},
        ],
    )
    async def test_rejects_bad_input(
        self, client: httpx.AsyncClient, overrides: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/api-keys/", json={**SEED_BODY, **overrides}, headers=user.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["error_type"] == "validation_error"
        assert (await client.get("/api/api-keys/", headers=user.headers)).json() == []

    async def test_missing_fields_are_rejected(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/api-keys/", json={"name": "x"}, headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["error"] is True

    async def test_needs_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/api-keys/", json=SEED_BODY)
        assert response.status_code == 401
        assert response.json()["error_type"] == "unauthorized"

    async def test_the_key_never_reaches_the_logs(
        self, make_app: MakeApp, caplog: pytest.LogCaptureFixture
    ) -> None:
        debug_app = await make_app(log_level="DEBUG")
        transport = httpx.ASGITransport(app=debug_app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://a"
        ) as client:
            user = await make_user(client)
            caplog.set_level(logging.DEBUG)
            with capture_logs() as events:
                created = await _create(client, user.headers)
                await client.put(
                    f"/api/api-keys/{created['id']}",
                    json={"api_key": SECRET + "-2"},
                    headers=user.headers,
                )
        assert "provider_key_created" in [e["event"] for e in events]
        assert SECRET not in repr(events)
        assert SECRET not in caplog.text


class TestReadAndList:
    async def test_lists_own_keys_as_an_array_in_creation_order(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        first = await _create(client, user.headers, name="one")
        second = await _create(client, user.headers, provider="openai", name="two")
        await _create(client, other.headers)
        response = await client.get("/api/api-keys/", headers=user.headers)
        assert response.status_code == 200
        assert [k["id"] for k in response.json()] == [first["id"], second["id"]]

    async def test_gets_one_key(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        response = await client.get(
            f"/api/api-keys/{created['id']}", headers=user.headers
        )
        assert response.status_code == 200
        assert response.json() == created

    @pytest.mark.parametrize(
        ("key_id", "status", "error_type"),
        [
            ("999999", 404, "not_found"),  # well formed, no such key
            ("0", 422, "validation_error"),  # ids start at 1
            ("-1", 422, "validation_error"),
            ("abc", 422, "validation_error"),
            ("9" * 30, 422, "validation_error"),  # beyond the id column's range
        ],
    )
    async def test_unknown_or_malformed_ids_are_4xx(
        self, client: httpx.AsyncClient, key_id: str, status: int, error_type: str
    ) -> None:
        user = await make_user(client)
        response = await client.get(f"/api/api-keys/{key_id}", headers=user.headers)
        assert response.status_code == status, response.text
        assert response.json()["error"] is True
        assert response.json()["error_type"] == error_type


class TestUpdate:
    async def test_updates_as_the_seed_shows(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        response = await client.put(
            f"/api/api-keys/{created['id']}",
            json={
                "name": "Updated Key Name",
                "api_key": "sk-new-api-key-987654321",
                "is_active": False,
            },
            headers=user.headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert body["api_key"] == "sk-new-api****321"
        assert body["name"] == "Updated Key Name"
        assert body["is_active"] is False
        assert body["provider"] == "anthropic"
        assert body["created_at"] == created["created_at"]
        assert body["updated_at"] >= created["updated_at"]

    async def test_partial_update_keeps_other_fields(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        response = await client.put(
            f"/api/api-keys/{created['id']}",
            json={"name": "renamed", "unknown_field": 1},
            headers=user.headers,
        )
        body = response.json()
        assert body["name"] == "renamed"
        assert body["api_key"] == created["api_key"]
        assert body["is_active"] is True

    async def test_switching_to_a_provider_that_needs_base_url_requires_it(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        url = f"/api/api-keys/{created['id']}"
        response = await client.put(
            url, json={"provider": "openai_compatible"}, headers=user.headers
        )
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"
        response = await client.put(
            url,
            json={
                "provider": "openai_compatible",
                "base_url": "http://127.0.0.1:11434/v1",
            },
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["base_url"] == "http://127.0.0.1:11434/v1"

    async def test_base_url_of_a_compatible_key_cannot_be_cleared(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        created = await _create(
            client,
            user.headers,
            provider="openai_compatible",
            base_url="http://127.0.0.1:11434/v1",
        )
        response = await client.put(
            f"/api/api-keys/{created['id']}",
            json={"base_url": None},
            headers=user.headers,
        )
        assert response.status_code == 422

    @pytest.mark.parametrize(
        "body",
        [
            {"provider": "cohere"},
            {"api_key": "has space"},
            {"settings": "text"},
            {"base_url": "javascript:alert(1)"},
            {"name": "'; DROP TABLE provider_keys; --" * 20},
        ],
    )
    async def test_rejects_bad_input(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        response = await client.put(
            f"/api/api-keys/{created['id']}", json=body, headers=user.headers
        )
        assert response.status_code == 422
        after = await client.get(f"/api/api-keys/{created['id']}", headers=user.headers)
        assert after.json() == created


class TestDelete:
    async def test_deletes_with_204(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        created = await _create(client, user.headers)
        url = f"/api/api-keys/{created['id']}"
        response = await client.delete(url, headers=user.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert (await client.get(url, headers=user.headers)).status_code == 404
        assert (await client.delete(url, headers=user.headers)).status_code == 404


class TestIsolation:
    async def test_other_users_key_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        alice = await make_user(client)
        bob = await make_user(client)
        created = await _create(client, alice.headers)
        url = f"/api/api-keys/{created['id']}"
        for method, body in (
            ("get", None),
            ("put", {"name": "mine"}),
            ("delete", None),
        ):
            response = await client.request(method, url, json=body, headers=bob.headers)
            assert response.status_code == 404, method
            assert response.json()["error_type"] == "not_found"
        assert (await client.get("/api/api-keys/", headers=bob.headers)).json() == []
        assert (await client.get(url, headers=alice.headers)).json() == created


class TestGlobalKeys:
    async def test_admin_creates_and_manages_global_keys(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_headers(client)
        created = await _create(
            client, admin, url="/api/admin/api-keys/", provider="openai"
        )
        assert created["is_global"] is True
        assert created["api_key"] == "sk-ant-api****789"
        url = f"/api/admin/api-keys/{created['id']}"
        listed = await client.get("/api/admin/api-keys/", headers=admin)
        assert [k["id"] for k in listed.json()] == [created["id"]]
        updated = await client.put(url, json={"name": "team"}, headers=admin)
        assert updated.json()["name"] == "team"
        assert updated.json()["is_global"] is True
        assert (await client.delete(url, headers=admin)).status_code == 204
        assert (await client.get(url, headers=admin)).status_code == 404

    async def test_users_cannot_use_admin_routes(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_headers(client)
        user = await make_user(client)
        created = await _create(client, admin, url="/api/admin/api-keys/")
        url = f"/api/admin/api-keys/{created['id']}"
        for method, target, body in (
            ("get", "/api/admin/api-keys/", None),
            ("post", "/api/admin/api-keys/", SEED_BODY),
            ("get", url, None),
            ("put", url, {"name": "stolen"}),
            ("delete", url, None),
        ):
            response = await client.request(
                method, target, json=body, headers=user.headers
            )
            assert response.status_code == 403, (method, target)
            assert response.json()["error_type"] == "forbidden"
        assert (await client.get(url, headers=admin)).json() == created

    async def test_global_keys_stay_out_of_users_key_lists(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_headers(client)
        user = await make_user(client)
        created = await _create(client, admin, url="/api/admin/api-keys/")
        assert (await client.get("/api/api-keys/", headers=user.headers)).json() == []
        assert (await client.get("/api/api-keys/", headers=admin)).json() == []
        for headers in (user.headers, admin):
            response = await client.get(
                f"/api/api-keys/{created['id']}", headers=headers
            )
            assert response.status_code == 404

    async def test_personal_keys_are_not_global_keys(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_headers(client)
        user = await make_user(client)
        personal = await _create(client, user.headers)
        response = await client.get(
            f"/api/admin/api-keys/{personal['id']}", headers=admin
        )
        assert response.status_code == 404
        listed = await client.get("/api/admin/api-keys/", headers=admin)
        assert listed.json() == []
