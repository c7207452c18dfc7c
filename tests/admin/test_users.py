from __future__ import annotations

import httpx

from tests.conftest import ADMIN_EMAIL
from tests.factories import admin_headers, make_user


class TestAdminUsers:
    async def test_lists_users_with_search_and_total(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        await make_user(client, username="findme-1", email="findme1@example.com")
        await make_user(client)
        response = await client.get(
            "/api/admin/users", params={"search": "FINDME"}, headers=headers
        )
        assert response.status_code == 200
        assert [u["username"] for u in response.json()] == ["findme-1"]
        assert response.headers["x-total-count"] == "1"
        assert "password" not in response.text

    async def test_paginates(self, client: httpx.AsyncClient) -> None:
        headers = await admin_headers(client)
        for _ in range(3):
            await make_user(client)
        page = await client.get(
            "/api/admin/users", params={"skip": 1, "limit": 2}, headers=headers
        )
        assert len(page.json()) == 2
        assert page.headers["x-total-count"] == "4"

    async def test_users_cannot_use_admin_routes(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for method, url in [
            ("get", "/api/admin/users"),
            ("get", f"/api/admin/users/{user.id}"),
            ("patch", f"/api/admin/users/{user.id}"),
        ]:
            response = await client.request(
                method, url, headers=user.headers, json={"role": "admin"}
            )
            assert response.status_code == 403, url
            assert response.json()["error_type"] == "forbidden"
        me = await client.get("/api/users/me", headers=user.headers)
        assert me.json()["role"] == "user"

    async def test_get_unknown_user_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get(
            "/api/admin/users/999999", headers=await admin_headers(client)
        )
        assert response.status_code == 404
        assert response.json()["error_type"] == "not_found"

    async def test_deactivation_ends_the_users_tokens_at_once(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        assert (await client.get("/api/users/me", headers=user.headers)).is_success
        response = await client.patch(
            f"/api/admin/users/{user.id}",
            json={"is_active": False},
            headers=await admin_headers(client),
        )
        assert response.json()["is_active"] is False
        assert (
            await client.get("/api/users/me", headers=user.headers)
        ).status_code == 401
        login = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        assert login.status_code == 401

    async def test_promotion_gives_admin_rights(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await client.patch(
            f"/api/admin/users/{user.id}",
            json={"role": "admin"},
            headers=await admin_headers(client),
        )
        response = await client.get("/api/admin/users", headers=user.headers)
        assert response.status_code == 200

    async def test_the_last_admin_cannot_demote_itself(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        me = (await client.get("/api/users/me", headers=headers)).json()
        assert me["email"] == ADMIN_EMAIL
        response = await client.patch(
            f"/api/admin/users/{me['id']}", json={"role": "user"}, headers=headers
        )
        assert response.status_code == 409
        assert response.json()["error_type"] == "conflict"
        still = await client.get("/api/admin/users", headers=headers)
        assert still.status_code == 200

    async def test_invalid_role_is_a_validation_error(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.patch(
            f"/api/admin/users/{user.id}",
            json={"role": "king"},
            headers=await admin_headers(client),
        )
        assert response.status_code == 422
