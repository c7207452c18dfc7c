"""Sessions: rotating refresh tokens, reuse detection, sign-out, listing."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from aihub.core.security import create_access_token
from aihub.runtime import runtime_of
from tests.factories import Account, make_user

UA = {"User-Agent": "pytest-browser/1.0"}


async def _sign_in(client: httpx.AsyncClient, account: Account) -> tuple[str, str]:
    """(access token, refresh token) of a new session; the jar left empty."""
    client.cookies.clear()
    response = await client.post(
        "/api/auth/login",
        json={"email": account.email, "password": account.password},
        headers=UA,
    )
    assert response.status_code == 200, response.text
    refresh = response.cookies.get("aihub_refresh")
    assert refresh
    client.cookies.clear()
    return response.json()["access_token"], refresh


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _cookie(refresh: str) -> dict[str, str]:
    return {"Cookie": f"aihub_refresh={refresh}"}


async def _me_status(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get("/api/users/me", headers=_bearer(token))).status_code


async def _refresh_body(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh_token": token})


class TestLoginStartsASession:
    async def test_refresh_cookie_is_httponly_and_scoped_to_auth(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        client.cookies.clear()
        response = await client.post(
            "/api/auth/token",
            data={"username": account.email, "password": account.password},
        )
        assert set(response.json()) == {"access_token", "token_type"}
        header = response.headers["set-cookie"].lower()
        assert "aihub_refresh=" in header
        assert "httponly" in header
        assert "path=/api/auth" in header
        assert "samesite=strict" in header


class TestRefresh:
    async def test_cookie_refresh_rotates_the_cookie_and_gives_a_working_token(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        _, refresh = await _sign_in(client, account)
        response = await client.post("/api/auth/refresh", headers=_cookie(refresh))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"access_token", "token_type"}
        rotated = response.cookies.get("aihub_refresh")
        assert rotated
        assert rotated != refresh
        assert await _me_status(client, body["access_token"]) == 200

    async def test_body_refresh_answers_the_next_token_in_the_body(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        _, refresh = await _sign_in(client, account)
        first = await _refresh_body(client, refresh)
        assert first.status_code == 200
        second = await _refresh_body(client, first.json()["refresh_token"])
        assert second.status_code == 200
        assert second.json()["refresh_token"] != first.json()["refresh_token"]
        assert await _me_status(client, second.json()["access_token"]) == 200

    async def test_reused_refresh_token_revokes_the_whole_session(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        access, refresh = await _sign_in(client, account)
        rotated = await _refresh_body(client, refresh)
        assert rotated.status_code == 200
        newest_access = rotated.json()["access_token"]

        reuse = await _refresh_body(client, refresh)  # the stolen copy
        assert reuse.status_code == 401
        assert reuse.json()["error_type"] == "unauthorized"
        # Every token of the family is dead: the rotated refresh token and
        # both access tokens.
        assert (
            await _refresh_body(client, rotated.json()["refresh_token"])
        ).status_code == 401
        assert await _me_status(client, access) == 401
        assert await _me_status(client, newest_access) == 401

    async def test_reuse_leaves_the_users_other_sessions_alone(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        _, refresh = await _sign_in(client, account)
        other_access, _ = await _sign_in(client, account)
        await _refresh_body(client, refresh)
        assert (await _refresh_body(client, refresh)).status_code == 401
        assert await _me_status(client, other_access) == 200

    @pytest.mark.parametrize("token", ["", "x" * 300, "not-a-token"])
    async def test_unknown_refresh_token_is_401(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await client.post("/api/auth/refresh", json={"refresh_token": token})
        assert response.status_code in (401, 422)
        assert response.json()["error"] is True

    async def test_no_refresh_token_at_all_is_401(
        self, client: httpx.AsyncClient
    ) -> None:
        client.cookies.clear()
        response = await client.post("/api/auth/refresh")
        assert response.status_code == 401
        assert response.json()["error_type"] == "unauthorized"

    async def test_password_change_ends_refresh(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        access, refresh = await _sign_in(client, account)
        changed = await client.put(
            "/api/users/me",
            json={"password": "another-long-password"},
            headers=_bearer(access),
        )
        assert changed.status_code == 200
        assert (await _refresh_body(client, refresh)).status_code == 401
        again = await client.post(
            "/api/auth/login",
            json={"email": account.email, "password": "another-long-password"},
        )
        token = again.json()["access_token"]
        sessions = await client.get("/api/auth/sessions", headers=_bearer(token))
        assert len(sessions.json()) == 1  # the ones before the change are gone


class TestLogout:
    async def test_logout_ends_this_session_only(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        access, refresh = await _sign_in(client, account)
        other_access, other_refresh = await _sign_in(client, account)
        response = await client.post(
            "/api/auth/logout",
            headers={**_bearer(access), **_cookie(refresh)},
        )
        assert response.status_code == 204
        assert 'aihub_refresh=""' in response.headers["set-cookie"]
        assert await _me_status(client, access) == 401
        assert (await _refresh_body(client, refresh)).status_code == 401
        assert await _me_status(client, other_access) == 200
        assert (await _refresh_body(client, other_refresh)).status_code == 200

    async def test_logout_everywhere_ends_every_session(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        access, refresh = await _sign_in(client, account)
        other_access, other_refresh = await _sign_in(client, account)
        response = await client.post(
            "/api/auth/logout?everywhere=true", headers=_bearer(access)
        )
        assert response.status_code == 204
        for token in (access, other_access, account.token):
            assert await _me_status(client, token) == 401
        for token in (refresh, other_refresh):
            assert (await _refresh_body(client, token)).status_code == 401

    async def test_logout_needs_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/auth/logout")
        assert response.status_code == 401

    async def test_another_users_refresh_cookie_is_not_revoked(
        self, client: httpx.AsyncClient
    ) -> None:
        alice, bob = await make_user(client), await make_user(client)
        alice_access, _ = await _sign_in(client, alice)
        _, bob_refresh = await _sign_in(client, bob)
        await client.post(
            "/api/auth/logout",
            headers={**_bearer(alice_access), **_cookie(bob_refresh)},
        )
        assert (await _refresh_body(client, bob_refresh)).status_code == 200


class TestSessions:
    async def test_lists_own_active_sessions_with_the_current_one_flagged(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        other = await make_user(client)
        first_access, _ = await _sign_in(client, account)
        second_access, _ = await _sign_in(client, account)
        await _sign_in(client, other)
        response = await client.get(
            "/api/auth/sessions", headers=_bearer(second_access)
        )
        assert response.status_code == 200
        sessions = response.json()
        # make_user's own sign-in, and the two above; none of the other user's.
        assert len(sessions) == 3
        assert [s["current"] for s in sessions] == [True, False, False]
        newest = sessions[0]
        assert newest["user_agent"] == UA["User-Agent"]
        assert newest["ip"] == "127.0.0.1"
        assert newest["method"] == "password"
        assert {"id", "created_at", "last_used_at", "expires_at"} <= set(newest)
        await client.post("/api/auth/logout", headers=_bearer(first_access))
        after = await client.get("/api/auth/sessions", headers=_bearer(second_access))
        assert len(after.json()) == 2

    async def test_revoking_a_session_ends_its_tokens(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        access, refresh = await _sign_in(client, account)
        other_access, _ = await _sign_in(client, account)
        listed = await client.get("/api/auth/sessions", headers=_bearer(access))
        current = next(s["id"] for s in listed.json() if s["current"])
        response = await client.delete(
            f"/api/auth/sessions/{current}", headers=_bearer(other_access)
        )
        assert response.status_code == 204
        assert await _me_status(client, access) == 401
        assert (await _refresh_body(client, refresh)).status_code == 401
        assert await _me_status(client, other_access) == 200
        again = await client.delete(
            f"/api/auth/sessions/{current}", headers=_bearer(other_access)
        )
        assert again.status_code == 404

    async def test_another_users_session_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        alice, bob = await make_user(client), await make_user(client)
        bob_access, _ = await _sign_in(client, bob)
        bob_sessions = await client.get(
            "/api/auth/sessions", headers=_bearer(bob_access)
        )
        bob_session = bob_sessions.json()[0]["id"]
        response = await client.delete(
            f"/api/auth/sessions/{bob_session}", headers=alice.headers
        )
        assert response.status_code == 404
        assert response.json() == {
            "error": True,
            "error_message": "Session not found",
            "error_type": "not_found",
        }
        assert await _me_status(client, bob_access) == 200

    async def test_sessions_need_a_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/auth/sessions")).status_code == 401
        assert (await client.delete("/api/auth/sessions/1")).status_code == 401


class TestPasswordLoginDisabled:
    async def test_password_sign_in_and_registration_are_403(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        runtime_of(app).settings.password_login = False
        try:
            for response in (
                await client.post(
                    "/api/auth/token",
                    data={"username": account.email, "password": account.password},
                ),
                await client.post(
                    "/api/auth/login",
                    json={"email": account.email, "password": account.password},
                ),
                await client.post(
                    "/api/users/",
                    json={
                        "email": "new@example.com",
                        "username": "newcomer",
                        "password": "correct-horse-battery",
                    },
                ),
            ):
                assert response.status_code == 403
                body = response.json()
                assert body["error"] is True
                assert body["error_type"] == "forbidden"
                assert "turned off" in body["error_message"]
            # Existing sessions keep working.
            assert await _me_status(client, account.token) == 200
        finally:
            runtime_of(app).settings.password_login = True


class TestConcurrentRefresh:
    async def test_two_refreshes_with_one_token_at_once_make_one_winner(
        self, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        _, refresh = await _sign_in(client, account)
        first, second = await asyncio.gather(
            _refresh_body(client, refresh), _refresh_body(client, refresh)
        )
        assert sorted([first.status_code, second.status_code]) == [200, 401]
        # The loser looks like a thief: the session is revoked for both.
        winner = first if first.status_code == 200 else second
        assert await _me_status(client, winner.json()["access_token"]) == 401


class TestTokensWithoutASession:
    async def test_a_token_issued_before_sessions_works_until_sign_out_everywhere(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        legacy = create_access_token(
            secret=runtime_of(app).secret_key,
            user_id=account.id,
            token_version=0,
            minutes=5,
        )
        assert await _me_status(client, legacy) == 200
        await client.post("/api/auth/logout?everywhere=true", headers=_bearer(legacy))
        assert await _me_status(client, legacy) == 401

    async def test_a_token_naming_no_session_is_401(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        account = await make_user(client)
        forged = create_access_token(
            secret=runtime_of(app).secret_key,
            user_id=account.id,
            token_version=0,
            minutes=5,
            session_id=999_999,
        )
        assert await _me_status(client, forged) == 401
