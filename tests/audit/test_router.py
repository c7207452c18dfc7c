"""The audit log: an entry for each audited action, read by admins only."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Account, admin_headers, make_user

UA = {"User-Agent": "audit-test/2.0"}
KEY_BODY = {"provider": "openai", "api_key": "sk-audit-secret-123456", "name": "k"}
SECRETS = ("sk-audit-secret-123456", "correct-horse-battery", "new-password-123")


async def _entries(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/admin/audit", params=params, headers=await admin_headers(client)
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def _one(client: httpx.AsyncClient, action: str, **params: Any) -> dict[str, Any]:
    found = await _entries(client, action=action, **params)
    assert len(found) == 1, found
    return found[0]


class TestSignInIsAudited:
    async def test_password_success_with_ip_and_user_agent(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await client.post(
            "/api/auth/login",
            json={"email": user.email, "password": user.password},
            headers=UA,
        )
        found = await _entries(client, action="auth.login.success", actor=user.id)
        assert len(found) == 2  # make_user's sign-in and this one
        entry = found[0]
        assert entry["ip"] == "127.0.0.1"
        assert entry["user_agent"] == UA["User-Agent"]
        assert entry["target_type"] == "user"
        assert entry["target_id"] == str(user.id)
        assert entry["detail"]["method"] == "password"

    async def test_failure_of_a_known_and_an_unknown_account(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for login in (user.email, "nobody@example.com"):
            response = await client.post(
                "/api/auth/token", data={"username": login, "password": "wrong-pass"}
            )
            assert response.status_code == 401
        found = await _entries(client, action="auth.login.failure")
        assert [e["actor_id"] for e in found] == [None, user.id]
        assert found[0]["detail"]["login"] == "nobody@example.com"
        assert "wrong-pass" not in str(found)

    async def test_logout_and_session_revoke(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        sessions = await client.get("/api/auth/sessions", headers=user.headers)
        session_id = sessions.json()[0]["id"]
        second = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        other = {"Authorization": f"Bearer {second.json()['access_token']}"}
        await client.delete(f"/api/auth/sessions/{session_id}", headers=other)
        await client.post("/api/auth/logout", headers=other)
        revoke = await _one(client, "auth.session.revoke")
        assert revoke["actor_id"] == user.id
        assert revoke["target_id"] == str(session_id)
        logout = await _one(client, "auth.logout")
        assert logout["actor_id"] == user.id
        assert logout["detail"] == {"everywhere": False}

    async def test_refresh_token_reuse(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        login = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        refresh = login.cookies["aihub_refresh"]
        client.cookies.clear()
        body = {"refresh_token": refresh}
        assert (await client.post("/api/auth/refresh", json=body)).status_code == 200
        assert (await client.post("/api/auth/refresh", json=body)).status_code == 401
        entry = await _one(client, "auth.refresh.reuse")
        assert entry["actor_id"] == user.id


class TestAccountChangesAreAudited:
    async def test_register_update_delete(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        await client.put(
            "/api/users/me",
            json={"username": "renamed", "password": "new-password-123"},
            headers=user.headers,
        )
        created = await _one(client, "user.create", actor=user.id)
        assert created["target_id"] == str(user.id)
        updated = await _one(client, "user.update")
        assert updated["detail"] == {"fields": ["password", "username"]}
        again = await client.post(
            "/api/auth/login",
            json={"email": user.email, "password": "new-password-123"},
        )
        headers = {"Authorization": f"Bearer {again.json()['access_token']}"}
        assert (
            await client.delete("/api/users/me", headers=headers)
        ).status_code == 204
        deleted = await _one(client, "user.delete")
        assert deleted["target_id"] == str(user.id)
        # The deleted user's own entries stay, their actor cleared.
        assert (await _one(client, "user.update"))["actor_id"] is None
        logged = str(await _entries(client))
        assert not any(secret in logged for secret in SECRETS)

    async def test_admin_changes_a_user(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        headers = await admin_headers(client)
        response = await client.patch(
            f"/api/admin/users/{user.id}", json={"is_active": False}, headers=headers
        )
        assert response.status_code == 200
        entry = await _one(client, "user.admin_update")
        assert entry["actor_id"] != user.id
        assert entry["target_id"] == str(user.id)
        assert entry["detail"] == {"is_active": False}


class TestKeysAreAudited:
    async def test_provider_key_create_update_delete(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        created = await client.post(
            "/api/api-keys/", json=KEY_BODY, headers=user.headers
        )
        key_id = created.json()["id"]
        url = f"/api/api-keys/{key_id}"
        await client.put(
            url, json={"api_key": "sk-audit-secret-654321"}, headers=user.headers
        )
        await client.delete(url, headers=user.headers)
        for action in ("create", "update", "delete"):
            entry = await _one(client, f"provider_key.{action}")
            assert entry["actor_id"] == user.id
            assert entry["target_type"] == "provider_key"
            assert entry["target_id"] == str(key_id)
        assert "654321" not in str(await _entries(client, action="provider_key.*"))

    async def test_global_provider_key_by_an_admin(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        created = await client.post(
            "/api/admin/api-keys/", json=KEY_BODY, headers=headers
        )
        key_id = created.json()["id"]
        await client.put(
            f"/api/admin/api-keys/{key_id}", json={"name": "shared"}, headers=headers
        )
        await client.delete(f"/api/admin/api-keys/{key_id}", headers=headers)
        entries = await _entries(client, action="provider_key.")
        assert [e["action"] for e in entries] == [
            "provider_key.delete",
            "provider_key.update",
            "provider_key.create",
        ]
        assert all(e["detail"]["is_global"] is True for e in entries)
        assert all(e["actor_id"] is not None for e in entries)

    async def test_gateway_key_create_update_revoke(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        created = await client.post(
            "/api/gateway-keys/", json={"name": "ci"}, headers=user.headers
        )
        key_id = created.json()["id"]
        url = f"/api/gateway-keys/{key_id}"
        await client.patch(url, json={"rpm": 5}, headers=user.headers)
        await client.delete(url, headers=user.headers)
        for action in ("create", "update", "revoke"):
            entry = await _one(client, f"gateway_key.{action}")
            assert entry["actor_id"] == user.id
            assert entry["target_id"] == str(key_id)
        assert created.json()["key"] not in str(await _entries(client))


class TestTeamChangesAreAudited:
    async def test_team_members_budget_and_invitations(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_headers(client)
        owner, member = await make_user(client), await make_user(client)
        created = await client.post(
            "/api/teams/", json={"name": "audited team"}, headers=admin
        )
        assert created.status_code == 201, created.text
        team_id = created.json()["id"]
        base = f"/api/teams/{team_id}"
        for person, role in ((owner, "owner"), (member, "member")):
            added = await client.post(
                f"{base}/members",
                json={"user_id": person.id, "role": role},
                headers=admin,
            )
            assert added.status_code == 201, added.text
        budget = await client.put(base, json={"budget_usd": 25.0}, headers=admin)
        assert budget.status_code == 200, budget.text
        invited = await client.post(
            f"{base}/invitations",
            json={"email": "later@example.com"},
            headers=owner.headers,
        )
        assert invited.status_code == 201, invited.text
        token = invited.json()["token"]
        left = await client.delete(
            f"{base}/members/{member.id}", headers=member.headers
        )
        assert left.status_code == 204, left.text
        gone = await client.delete(base, headers=admin)
        assert gone.status_code == 204, gone.text

        by_action = {
            e["action"]: e
            for e in await _entries(client, action="team.*", limit=50)
            if e["target_id"] == str(team_id)
        }
        assert set(by_action) == {
            "team.create",
            "team.member.add",
            "team.update",
            "team.invitation.create",
            "team.member.remove",
            "team.delete",
        }
        assert by_action["team.update"]["detail"] == {"budget_usd": 25.0}
        assert by_action["team.invitation.create"]["actor_id"] == owner.id
        assert by_action["team.member.remove"]["actor_id"] == member.id
        assert by_action["team.create"]["target_type"] == "team"
        assert token not in str(by_action)


class TestReadingTheLog:
    async def test_non_admin_gets_403_and_anonymous_401(
        self, client: httpx.AsyncClient
    ) -> None:
        user: Account = await make_user(client)
        response = await client.get("/api/admin/audit", headers=user.headers)
        assert response.status_code == 403
        assert response.json()["error_type"] == "forbidden"
        assert (await client.get("/api/admin/audit")).status_code == 401

    async def test_filters_and_pagination(self, client: httpx.AsyncClient) -> None:
        alice, bob = await make_user(client), await make_user(client)
        headers = await admin_headers(client)
        everything = await client.get("/api/admin/audit", headers=headers)
        total = int(everything.headers["X-Total-Count"])
        assert total == len(everything.json())
        page = await client.get(
            "/api/admin/audit", params={"skip": 1, "limit": 2}, headers=headers
        )
        assert [e["id"] for e in page.json()] == [
            e["id"] for e in everything.json()[1:3]
        ]
        by_alice = await _entries(client, actor=alice.id)
        assert by_alice
        assert all(e["actor_id"] == alice.id for e in by_alice)
        newest = everything.json()[0]["created_at"]
        assert await _entries(client, since="2999-01-01T00:00:00Z") == []
        until = await _entries(client, until=newest)
        assert all(e["created_at"] < newest for e in until)
        assert bob.id not in {
            e["actor_id"] for e in await _entries(client, actor=alice.id)
        }

    async def test_bad_filters_are_422(self, client: httpx.AsyncClient) -> None:
        headers = await admin_headers(client)
        for params in ({"actor": "x"}, {"since": "yesterday"}, {"action": "a b"}):
            response = await client.get(
                "/api/admin/audit", params=params, headers=headers
            )
            assert response.status_code == 422
            assert response.json()["error_type"] == "validation_error"

    async def test_entries_cannot_be_changed_or_deleted(
        self, client: httpx.AsyncClient
    ) -> None:
        await make_user(client)
        headers = await admin_headers(client)
        entry_id = (await _entries(client))[0]["id"]
        for method in ("PUT", "PATCH", "DELETE"):
            for url in ("/api/admin/audit", f"/api/admin/audit/{entry_id}"):
                response = await client.request(method, url, headers=headers)
                assert response.status_code in (404, 405), (method, url)
        assert (await _entries(client))[-1]["id"] <= entry_id
        assert any(e["id"] == entry_id for e in await _entries(client))
