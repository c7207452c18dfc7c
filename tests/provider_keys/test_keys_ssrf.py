"""Issue 12, defect 1: a user cannot save a provider key whose base_url is an
internal address (422 naming the rule); administrators' global keys may, and
AIHUB_OUTBOUND_ALLOW opens chosen addresses. The app here allows nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aihub.core.settings import Settings
from tests.factories import admin_headers, make_user
from tests.provider_keys.conftest import MakeApp

ALLOW_HINT = "ask an administrator to allow it with AIHUB_OUTBOUND_ALLOW"
REFUSED = [
    ("http://127.0.0.1:8080/admin/export?x=", "is a loopback address (127.0.0.1)"),
    ("http://localhost:11434/v1", "resolves to a loopback address (127.0.0.1)"),
    ("http://[::1]:8000/v1", "is a loopback address (::1)"),
    ("http://[::ffff:127.0.0.1]/v1", "is a loopback address (::ffff:7f00:1)"),
    ("http://[fe80::1]/v1", "is a link-local address (fe80::1)"),
    ("http://2130706433/v1", "is a loopback address (127.0.0.1)"),
    ("http://0177.0.0.1/v1", "is a loopback address (127.0.0.1)"),
    ("http://0x7f.1/v1", "is a loopback address (127.0.0.1)"),
    ("http://10.0.0.8:8000/v1", "is a private address (10.0.0.8)"),
    ("http://192.168.0.2/v1", "is a private address (192.168.0.2)"),
    ("http://169.254.169.254/latest/meta-data/#", "is a cloud metadata address"),
    ("http://metadata.google.internal/v1", "names a cloud metadata host"),
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbound_allow": []})


def _key(base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "openai_compatible",
        "api_key": "sk-local",
        "name": "mine",
        "base_url": base_url,
        **extra,
    }


def _assert_refused(response: httpx.Response, rule: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error_type"] == "validation_error"
    assert body["error_message"].startswith(f"base_url {rule}")
    assert body["error_message"].endswith(ALLOW_HINT)


class TestSavingAUsersKey:
    @pytest.mark.parametrize(("url", "rule"), REFUSED)
    async def test_create_refuses_internal_addresses(
        self, client: httpx.AsyncClient, url: str, rule: str
    ) -> None:
        user = await make_user(client)

        response = await client.post(
            "/api/api-keys/", json=_key(url), headers=user.headers
        )

        _assert_refused(response, rule)
        listed = await client.get("/api/api-keys/", headers=user.headers)
        assert listed.json() == []

    @pytest.mark.parametrize(("url", "rule"), REFUSED)
    async def test_update_refuses_internal_addresses(
        self, client: httpx.AsyncClient, url: str, rule: str
    ) -> None:
        user = await make_user(client)
        created = await client.post(
            "/api/api-keys/",
            json=_key("https://8.8.8.8/v1"),  # a public address: no DNS, no call
            headers=user.headers,
        )
        assert created.status_code == 201, created.text
        key_id = created.json()["id"]

        response = await client.put(
            f"/api/api-keys/{key_id}", json={"base_url": url}, headers=user.headers
        )

        _assert_refused(response, rule)
        stored = await client.get(f"/api/api-keys/{key_id}", headers=user.headers)
        assert stored.json()["base_url"] == "https://8.8.8.8/v1"

    @pytest.mark.parametrize("provider", ["openai", "azure", "anthropic", "qwen"])
    async def test_every_provider_with_a_base_url_is_checked(
        self, client: httpx.AsyncClient, provider: str
    ) -> None:
        user = await make_user(client)

        response = await client.post(
            "/api/api-keys/",
            json=_key("http://127.0.0.1:9/", provider=provider),
            headers=user.headers,
        )

        _assert_refused(response, "is a loopback address (127.0.0.1)")

    async def test_other_schemes_are_refused(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)

        response = await client.post(
            "/api/api-keys/", json=_key("file:///etc/passwd"), headers=user.headers
        )

        assert response.status_code == 422, response.text
        assert response.json()["error_type"] == "validation_error"


class TestTrustedAndAllowed:
    async def test_an_admins_global_key_may_point_at_loopback(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_headers(client)

        created = await client.post(
            "/api/admin/api-keys/",
            json=_key("http://127.0.0.1:11434/v1"),
            headers=admin,
        )
        assert created.status_code == 201, created.text
        updated = await client.put(
            f"/api/admin/api-keys/{created.json()['id']}",
            json={"base_url": "http://localhost:8000/v1"},
            headers=admin,
        )

        assert updated.status_code == 200, updated.text
        assert updated.json()["base_url"] == "http://localhost:8000/v1"

    async def test_the_allowance_opens_a_cidr_and_a_host_name(
        self, client: httpx.AsyncClient, make_app: MakeApp
    ) -> None:
        allowing = await make_app(outbound_allow=["10.0.0.0/8", "localhost"])
        transport = httpx.ASGITransport(app=allowing)
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
            user = await make_user(c)
            for url in ("http://10.1.2.3:8000/v1", "http://localhost:11434/v1"):
                response = await c.post(
                    "/api/api-keys/", json=_key(url), headers=user.headers
                )
                assert response.status_code == 201, response.text
            response = await c.post(
                "/api/api-keys/",
                json=_key("http://192.168.1.1/v1"),
                headers=user.headers,
            )
            _assert_refused(response, "is a private address (192.168.1.1)")
