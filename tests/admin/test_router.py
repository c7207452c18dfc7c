from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL
from tests.factories import Account, admin_headers, make_user

USER_FIELDS = {"id", "email", "username", "is_active", "created_at", "role"}


async def _promote(client: httpx.AsyncClient, user: Account) -> None:
    response = await client.patch(
        f"/api/admin/users/{user.id}",
        json={"role": "admin"},
        headers=await admin_headers(client),
    )
    assert response.status_code == 200


async def _me(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/users/me", headers=await admin_headers(client))
    body: dict[str, Any] = response.json()
    return body


class TestListUsers:
    async def test_lists_everyone_in_id_order_without_passwords(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        made = [await make_user(client) for _ in range(3)]
        response = await client.get("/api/admin/users", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [u["email"] for u in body] == [ADMIN_EMAIL] + [u.email for u in made]
        assert all(set(u) == USER_FIELDS for u in body)
        assert response.headers["x-total-count"] == "4"
        assert "password" not in response.text
        assert "argon2" not in response.text

    async def test_search_matches_email_or_username_in_any_case(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        by_name = await make_user(client, username="FindMe-1")
        by_email = await make_user(client, email="findme@elsewhere.org")
        await make_user(client)
        response = await client.get(
            "/api/admin/users", params={"search": "findME"}, headers=headers
        )
        assert [u["id"] for u in response.json()] == [by_name.id, by_email.id]
        assert response.headers["x-total-count"] == "2"

    @pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
    async def test_search_wildcards_match_only_themselves(
        self, client: httpx.AsyncClient, wildcard: str
    ) -> None:
        headers = await admin_headers(client)
        await make_user(client)
        response = await client.get(
            "/api/admin/users", params={"search": wildcard}, headers=headers
        )
        assert response.status_code == 200
        assert response.json() == []
        assert response.headers["x-total-count"] == "0"

    async def test_search_finds_a_literal_underscore(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        marked = await make_user(client, username="has_underscore")
        await make_user(client, username="hasxunderscore")
        response = await client.get(
            "/api/admin/users", params={"search": "s_u"}, headers=headers
        )
        assert [u["id"] for u in response.json()] == [marked.id]

    async def test_paginates_with_the_total_of_all_matches(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        made = [await make_user(client) for _ in range(3)]
        page = await client.get(
            "/api/admin/users", params={"skip": 1, "limit": 2}, headers=headers
        )
        assert [u["id"] for u in page.json()] == [made[0].id, made[1].id]
        assert page.headers["x-total-count"] == "4"
        past_the_end = await client.get(
            "/api/admin/users", params={"skip": 50}, headers=headers
        )
        assert past_the_end.json() == []
        assert past_the_end.headers["x-total-count"] == "4"

    @pytest.mark.parametrize(
        "params",
        [
            {"skip": -1},
            {"skip": "x"},
            {"limit": 0},
            {"limit": 1001},
            {"limit": "ten"},
            {"search": "s" * 321},
            {"search": "a\x00b"},
        ],
    )
    async def test_bad_query_parameters_are_validation_errors(
        self, client: httpx.AsyncClient, params: dict[str, Any]
    ) -> None:
        response = await client.get(
            "/api/admin/users", params=params, headers=await admin_headers(client)
        )
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"

    async def test_an_injection_string_is_only_text(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        await make_user(client)
        response = await client.get(
            "/api/admin/users",
            params={"search": "' OR '1'='1'; DROP TABLE users; --"},
            headers=headers,
        )
        assert response.json() == []
        everyone = await client.get("/api/admin/users", headers=headers)
        assert everyone.headers["x-total-count"] == "2"


class TestGetUser:
    async def test_returns_the_user_without_the_password(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.get(
            f"/api/admin/users/{user.id}", headers=await admin_headers(client)
        )
        assert response.status_code == 200
        assert set(response.json()) == USER_FIELDS
        assert response.json()["email"] == user.email
        assert user.password not in response.text

    async def test_unknown_user_is_not_found(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/api/admin/users/999999", headers=await admin_headers(client)
        )
        assert response.status_code == 404
        assert response.json() == {
            "error": True,
            "error_message": "User not found",
            "error_type": "not_found",
        }

    @pytest.mark.parametrize("user_id", ["0", "-1", "2147483648", "abc", "1.5", "1e3"])
    async def test_ids_outside_the_range_are_validation_errors(
        self, client: httpx.AsyncClient, user_id: str
    ) -> None:
        headers = await admin_headers(client)
        for method in ("GET", "PATCH"):
            response = await client.request(
                method, f"/api/admin/users/{user_id}", json={}, headers=headers
            )
            assert response.status_code == 422, method
            assert response.json()["error_type"] == "validation_error"


class TestUpdateUser:
    async def test_promotion_gives_admin_rights_at_once(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        assert (
            await client.get("/api/admin/users", headers=user.headers)
        ).status_code == 403
        await _promote(client, user)
        response = await client.get("/api/admin/users", headers=user.headers)
        assert response.status_code == 200

    async def test_demotion_takes_admin_rights_away_at_once(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await _promote(client, user)
        response = await client.patch(
            f"/api/admin/users/{user.id}",
            json={"role": "user"},
            headers=await admin_headers(client),
        )
        assert response.json()["role"] == "user"
        denied = await client.get("/api/admin/users", headers=user.headers)
        assert denied.status_code == 403
        assert (await client.get("/api/users/me", headers=user.headers)).is_success

    async def test_deactivation_ends_the_users_tokens_and_logins_at_once(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        assert (await client.get("/api/users/me", headers=user.headers)).is_success
        response = await client.patch(
            f"/api/admin/users/{user.id}",
            json={"is_active": False},
            headers=await admin_headers(client),
        )
        assert response.status_code == 200
        assert response.json()["is_active"] is False
        assert (
            await client.get("/api/users/me", headers=user.headers)
        ).status_code == 401
        login = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        assert login.status_code == 401
        assert login.json()["error_message"] == "Incorrect email/username or password"

    async def test_reactivation_allows_login_but_not_the_old_tokens(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        headers = await admin_headers(client)
        url = f"/api/admin/users/{user.id}"
        await client.patch(url, json={"is_active": False}, headers=headers)
        back = await client.patch(url, json={"is_active": True}, headers=headers)
        assert back.json()["is_active"] is True
        old = await client.get("/api/users/me", headers=user.headers)
        login = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        assert (old.status_code, login.status_code) == (401, 200)

    async def test_an_empty_body_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.patch(
            f"/api/admin/users/{user.id}", json={}, headers=await admin_headers(client)
        )
        assert response.status_code == 200
        assert (response.json()["role"], response.json()["is_active"]) == (
            "user",
            True,
        )
        assert (await client.get("/api/users/me", headers=user.headers)).is_success

    async def test_unknown_user_is_not_found(self, client: httpx.AsyncClient) -> None:
        response = await client.patch(
            "/api/admin/users/999999",
            json={"role": "admin"},
            headers=await admin_headers(client),
        )
        assert response.status_code == 404
        assert response.json()["error_type"] == "not_found"

    @pytest.mark.parametrize(
        "body",
        [
            {"role": "king"},
            {"role": "ADMIN"},
            {"role": 1},
            {"is_active": "maybe"},
            {"is_active": [True]},
            [],
            "admin",
        ],
    )
    async def test_invalid_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, body: Any
    ) -> None:
        user = await make_user(client)
        response = await client.patch(
            f"/api/admin/users/{user.id}",
            json=body,
            headers=await admin_headers(client),
        )
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"

    async def test_non_admins_are_forbidden_and_change_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        target = await make_user(client)
        caller = await make_user(client)
        response = await client.patch(
            f"/api/admin/users/{target.id}",
            json={"is_active": False, "role": "admin"},
            headers=caller.headers,
        )
        assert response.status_code == 403
        assert response.json()["error_type"] == "forbidden"
        me = await client.get("/api/users/me", headers=target.headers)
        assert (me.json()["is_active"], me.json()["role"]) == (True, "user")


class TestLastAdmin:
    @pytest.mark.parametrize("body", [{"role": "user"}, {"is_active": False}])
    async def test_the_last_admin_cannot_demote_or_deactivate_itself(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        headers = await admin_headers(client)
        me = await _me(client)
        response = await client.patch(
            f"/api/admin/users/{me['id']}", json=body, headers=headers
        )
        assert response.status_code == 409
        assert response.json() == {
            "error": True,
            "error_message": "This would leave no active administrator",
            "error_type": "conflict",
        }
        still = await client.get("/api/admin/users", headers=headers)
        assert still.status_code == 200

    async def test_an_admin_may_step_down_when_another_remains(
        self, client: httpx.AsyncClient
    ) -> None:
        second = await make_user(client)
        await _promote(client, second)
        headers = await admin_headers(client)
        me = await _me(client)
        response = await client.patch(
            f"/api/admin/users/{me['id']}", json={"role": "user"}, headers=headers
        )
        assert response.status_code == 200
        assert (
            await client.get("/api/admin/users", headers=headers)
        ).status_code == 403
        last = await client.patch(
            f"/api/admin/users/{second.id}",
            json={"is_active": False},
            headers=second.headers,
        )
        assert last.status_code == 409

    async def test_an_inactive_admin_does_not_count(
        self, client: httpx.AsyncClient
    ) -> None:
        second = await make_user(client)
        await _promote(client, second)
        headers = await admin_headers(client)
        await client.patch(
            f"/api/admin/users/{second.id}", json={"is_active": False}, headers=headers
        )
        me = await _me(client)
        response = await client.patch(
            f"/api/admin/users/{me['id']}", json={"role": "user"}, headers=headers
        )
        assert response.status_code == 409

    async def test_two_admins_demoting_each_other_at_once_leave_one(
        self, client: httpx.AsyncClient
    ) -> None:
        second = await make_user(client)
        await _promote(client, second)
        root_headers = await admin_headers(client)
        root = await _me(client)
        results = await asyncio.gather(
            client.patch(
                f"/api/admin/users/{second.id}",
                json={"role": "user"},
                headers=root_headers,
            ),
            client.patch(
                f"/api/admin/users/{root['id']}",
                json={"role": "user"},
                headers=second.headers,
            ),
        )
        # The loser is refused by the last-admin check (409), or, when the other
        # demotion committed before its own request was authorized, as a
        # non-admin (403).
        statuses = sorted(r.status_code for r in results)
        assert statuses in ([200, 409], [200, 403])
        admins = [
            h
            for h in (root_headers, second.headers)
            if (await client.get("/api/admin/users", headers=h)).status_code == 200
        ]
        assert len(admins) == 1
