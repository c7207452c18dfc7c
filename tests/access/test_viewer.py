"""The viewer role: reads, signs in, and nothing else."""

from __future__ import annotations

import httpx
import pytest

from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, admin_headers, login, make_user
from tests.fakes.upstream import FakeUpstream


async def _make_viewer(client: httpx.AsyncClient, user: Account) -> None:
    admin = await admin_headers(client)
    response = await client.patch(
        f"/api/admin/users/{user.id}", json={"role": "viewer"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "viewer"


async def test_a_viewer_reads_but_does_not_write(client: httpx.AsyncClient) -> None:
    user = await make_user(client)
    made = await client.post(
        "/api/categories/", json={"name": "Before"}, headers=user.headers
    )
    assert made.status_code == 201
    await _make_viewer(client, user)
    listed = await client.get("/api/categories/", headers=user.headers)
    assert [c["name"] for c in listed.json()] == ["Before"]
    refused = await client.post(
        "/api/categories/", json={"name": "After"}, headers=user.headers
    )
    assert refused.status_code == 403
    assert refused.json()["error_type"] == "forbidden"
    assert "viewer" in refused.json()["error_message"]
    deleted = await client.delete(
        f"/api/categories/{made.json()['id']}", headers=user.headers
    )
    assert deleted.status_code == 403
    # Signing in still works.
    token = await login(client, user.email, user.password)
    assert token


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
async def test_a_viewer_makes_no_model_call(
    live_server: LiveServer, fake_upstream: FakeUpstream, path: str
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        user = await make_user(http)
        await add_key(http, user, fake_upstream, "sk-viewer")
        key = await http.post(
            "/api/gateway-keys/", json={"name": "k"}, headers=user.headers
        )
        secret = key.json()["key"]
        await _make_viewer(http, user)
        body = {
            "model": "gpt-4o-mini",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
        }
        with_jwt = await http.post(path, json=body, headers=user.headers)
        assert with_jwt.status_code == 403, with_jwt.text
        with_key = await http.post(
            path, json=body, headers={"Authorization": f"Bearer {secret}"}
        )
        assert with_key.status_code == 401, with_key.text
        assert fake_upstream.requests == []


async def test_an_admin_demoted_to_viewer_keeps_an_admin(
    client: httpx.AsyncClient,
) -> None:
    """The last administrator cannot become a viewer (409)."""
    admin = await admin_headers(client)
    me = (await client.get("/api/users/me", headers=admin)).json()
    response = await client.patch(
        f"/api/admin/users/{me['id']}", json={"role": "viewer"}, headers=admin
    )
    assert response.status_code == 409, response.text
