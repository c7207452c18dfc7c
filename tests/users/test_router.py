from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select

from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.models import Base
from aihub.runtime import runtime_of
from aihub.users.models import User
from tests.conftest import ADMIN_EMAIL
from tests.factories import admin_headers, make_user

SEED_USER_FIELDS = {"id", "email", "username", "is_active", "created_at", "role"}


def _new(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "new@example.com",
        "username": "newbie",
        "password": "long-enough-pw",
        **overrides,
    }


class TestRegisterUser:
    async def test_returns_the_seed_shape_without_the_password(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/api/users/", json=_new())
        assert response.status_code == 201
        body = response.json()
        assert set(body) == SEED_USER_FIELDS
        assert body["email"] == "new@example.com"
        assert body["username"] == "newbie"
        assert body["is_active"] is True
        assert body["role"] == "user"
        assert datetime.fromisoformat(body["created_at"]).tzinfo is not None
        assert "long-enough-pw" not in response.text
        assert "argon2" not in response.text

    async def test_role_and_activity_in_the_body_are_ignored(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/users/",
            json=_new(role="admin", is_active=False, id=999, token_version=9),
        )
        assert response.status_code == 201
        assert response.json()["role"] == "user"
        assert response.json()["is_active"] is True
        login = await client.post(
            "/api/auth/login",
            json={"email": "new@example.com", "password": "long-enough-pw"},
        )
        token = login.json()["access_token"]
        admin_area = await client.get(
            "/api/admin/users", headers={"Authorization": f"Bearer {token}"}
        )
        assert admin_area.status_code == 403

    async def test_taken_email_in_another_case_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post("/api/users/", json=_new(email=user.email.upper()))
        assert response.status_code == 409
        assert response.json() == {
            "error": True,
            "error_message": "This email is already registered",
            "error_type": "conflict",
        }

    async def test_taken_username_in_another_case_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        await make_user(client, username="Carol")
        response = await client.post("/api/users/", json=_new(username="cAROL"))
        assert response.status_code == 409
        assert response.json()["error_message"] == "This username is already taken"

    async def test_the_same_email_registered_twice_at_once_makes_one_account(
        self, client: httpx.AsyncClient
    ) -> None:
        first, second = await asyncio.gather(
            client.post("/api/users/", json=_new(username="twin1")),
            client.post("/api/users/", json=_new(username="twin2")),
        )
        assert sorted([first.status_code, second.status_code]) == [201, 409]
        listing = await client.get(
            "/api/admin/users",
            params={"search": "new@example.com"},
            headers=await admin_headers(client),
        )
        assert listing.headers["x-total-count"] == "1"

    @pytest.mark.parametrize(
        "body",
        [
            _new(email="not-an-email"),
            _new(email="a" * 310 + "@example.com"),
            _new(email=12345),
            _new(username="ab"),
            _new(username="a" * 65),
            _new(username="bob bob"),
            _new(username="bob@home"),
            _new(username="<script>"),
            _new(username="'; DROP TABLE users; --"),
            _new(username="jörg"),
            _new(username=["list"]),
            _new(password="short"),
            _new(password="p" * 129),
            _new(password=12345678),
            _new(password=None),
            {"email": "b@example.com", "password": "long-enough"},
            {"username": "bob", "password": "long-enough"},
            {"email": "b@example.com", "username": "bob"},
            {},
            [],
            "text",
        ],
    )
    async def test_invalid_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, body: Any
    ) -> None:
        response = await client.post("/api/users/", json=body)
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"

    async def test_limits_are_inclusive(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/api/users/",
            json=_new(username="a_b", password="p" * 8),
        )
        longest = await client.post(
            "/api/users/",
            json=_new(email="z@example.com", username="z" * 64, password="p" * 128),
        )
        assert (response.status_code, longest.status_code) == (201, 201)

    async def test_an_invalid_token_is_unauthorized_even_when_registration_is_open(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/users/", json=_new(), headers={"Authorization": "Bearer stale"}
        )
        assert response.status_code == 401


class TestClosedRegistration:
    # Its own app writes to the test database; the app fixture's teardown empties it.
    @pytest.mark.usefixtures("app")
    async def test_only_an_admin_may_create_accounts(self, settings: Settings) -> None:
        app = create_app(settings.model_copy(update={"open_registration": False}))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                anonymous = await c.post("/api/users/", json=_new())
                created = await c.post(
                    "/api/users/", json=_new(), headers=await admin_headers(c)
                )
                token = (
                    await c.post(
                        "/api/auth/login",
                        json={"email": "new@example.com", "password": "long-enough-pw"},
                    )
                ).json()["access_token"]
                by_user = await c.post(
                    "/api/users/",
                    json=_new(email="x@example.com", username="xavier"),
                    headers={"Authorization": f"Bearer {token}"},
                )
        assert anonymous.status_code == 403
        assert anonymous.json()["error_type"] == "forbidden"
        assert created.status_code == 201
        assert created.json()["role"] == "user"
        assert by_user.status_code == 403


class TestReadMe:
    async def test_returns_the_callers_own_account(
        self, client: httpx.AsyncClient
    ) -> None:
        await make_user(client)
        user = await make_user(client)
        response = await client.get("/api/users/me", headers=user.headers)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == SEED_USER_FIELDS
        assert (body["id"], body["email"], body["username"]) == (
            user.id,
            user.email,
            user.username,
        )
        assert "password" not in response.text


class TestUpdateMe:
    async def test_changes_email_and_username(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.put(
            "/api/users/me",
            json={"email": "changed@example.com", "username": "changed"},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert set(response.json()) == SEED_USER_FIELDS
        assert response.json()["email"] == "changed@example.com"
        assert response.json()["username"] == "changed"
        me = await client.get("/api/users/me", headers=user.headers)
        assert me.json()["username"] == "changed"

    async def test_an_empty_body_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.put("/api/users/me", json={}, headers=user.headers)
        assert response.status_code == 200
        assert response.json()["email"] == user.email
        assert (await client.get("/api/users/me", headers=user.headers)).is_success

    async def test_password_change_ends_older_tokens(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        other_session = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        other_headers = {
            "Authorization": f"Bearer {other_session.json()['access_token']}"
        }
        changed = await client.put(
            "/api/users/me", json={"password": "brand-new-pw"}, headers=user.headers
        )
        assert changed.status_code == 200
        assert changed.json()["id"] == user.id
        for headers in (user.headers, other_headers):
            stale = await client.get("/api/users/me", headers=headers)
            assert stale.status_code == 401
        old = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        new = await client.post(
            "/api/auth/login", json={"email": user.email, "password": "brand-new-pw"}
        )
        assert (old.status_code, new.status_code) == (401, 200)

    async def test_email_change_keeps_tokens_valid(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await client.put(
            "/api/users/me", json={"email": "moved@example.com"}, headers=user.headers
        )
        assert (await client.get("/api/users/me", headers=user.headers)).is_success

    async def test_own_email_in_another_case_is_not_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.put(
            "/api/users/me",
            json={"email": user.email.upper(), "username": user.username},
            headers=user.headers,
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("field", ["email", "username"])
    async def test_taken_email_or_username_is_a_conflict_and_changes_nothing(
        self, client: httpx.AsyncClient, field: str
    ) -> None:
        first = await make_user(client)
        second = await make_user(client)
        taken = {"email": first.email, "username": first.username.upper()}[field]
        response = await client.put(
            "/api/users/me",
            json={field: taken, "password": "would-be-new-pw"},
            headers=second.headers,
        )
        assert response.status_code == 409
        assert response.json()["error_type"] == "conflict"
        me = await client.get("/api/users/me", headers=second.headers)
        assert me.status_code == 200
        assert (me.json()["email"], me.json()["username"]) == (
            second.email,
            second.username,
        )

    async def test_role_and_activity_in_the_body_are_ignored(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.put(
            "/api/users/me",
            json={"role": "admin", "is_active": False, "id": 1},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["role"] == "user"
        assert response.json()["id"] == user.id
        assert (
            await client.get("/api/admin/users", headers=user.headers)
        ).status_code == 403

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "nope"},
            {"email": 5},
            {"username": "x"},
            {"username": "has space"},
            {"username": "u" * 65},
            {"password": "short"},
            {"password": "p" * 129},
            {"password": True},
            [],
            "text",
        ],
    )
    async def test_invalid_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, body: Any
    ) -> None:
        user = await make_user(client)
        response = await client.put("/api/users/me", json=body, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"

    async def test_without_a_token_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.put("/api/users/me", json={"username": "who"})
        assert response.status_code == 401


async def _owned_rows(app: FastAPI, user_id: int) -> dict[str, int]:
    """Rows per table that has a user_id column, for one user."""
    counts = {}
    async with runtime_of(app).sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            if "user_id" in table.c:
                stmt = select(func.count()).select_from(table)
                count = await session.scalar(stmt.where(table.c.user_id == user_id))
                counts[table.name] = int(count or 0)
    return counts


async def _create_some_data(client: httpx.AsyncClient, headers: Any) -> None:
    category = await client.post(
        "/api/categories/", json={"name": "mine"}, headers=headers
    )
    assert category.status_code == 201, category.text
    prompt = await client.post(
        "/api/prompts/", json={"title": "t", "content": "c"}, headers=headers
    )
    assert prompt.status_code == 201, prompt.text
    thread = await client.post(
        "/api/threads/",
        json={"title": "hello", "initial_message": "hi"},
        headers=headers,
    )
    assert thread.status_code == 201, thread.text


class TestDeleteMe:
    async def test_removes_the_account_and_all_its_data(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        await _create_some_data(client, user.headers)
        await _create_some_data(client, other.headers)
        before = await _owned_rows(app, user.id)
        assert before["categories"] == before["prompts"] == before["threads"] == 1
        response = await client.delete("/api/users/me", headers=user.headers)
        assert response.status_code == 204
        assert response.content == b""
        assert set((await _owned_rows(app, user.id)).values()) == {0}
        assert await _owned_rows(app, other.id) == before
        login = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        assert login.status_code == 401
        gone = await client.get(
            f"/api/admin/users/{user.id}", headers=await admin_headers(client)
        )
        assert gone.status_code == 404

    async def test_the_email_and_username_are_free_again(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        await client.delete("/api/users/me", headers=user.headers)
        again = await client.post(
            "/api/users/",
            json={
                "email": user.email,
                "username": user.username,
                "password": "another-password",
            },
        )
        assert again.status_code == 201

    async def test_the_last_active_admin_cannot_delete_itself(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        response = await client.delete("/api/users/me", headers=headers)
        assert response.status_code == 409
        assert response.json()["error_message"] == (
            "This would leave no active administrator"
        )
        assert (await client.get("/api/users/me", headers=headers)).is_success

    async def test_an_admin_may_leave_when_another_admin_remains(
        self, client: httpx.AsyncClient
    ) -> None:
        headers = await admin_headers(client)
        second = await make_user(client)
        await client.patch(
            f"/api/admin/users/{second.id}", json={"role": "admin"}, headers=headers
        )
        response = await client.delete("/api/users/me", headers=headers)
        assert response.status_code == 204
        listing = await client.get(
            "/api/admin/users", params={"search": ADMIN_EMAIL}, headers=second.headers
        )
        assert listing.json() == []

    async def test_without_a_token_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        assert (await client.delete("/api/users/me")).status_code == 401


class TestIsolation:
    """No /api/users or /api/admin route shows or changes another user."""

    async def test_a_user_can_neither_read_nor_change_another_user(
        self, client: httpx.AsyncClient
    ) -> None:
        alice = await make_user(client)
        bob = await make_user(client)
        attempts = [
            ("GET", "/api/admin/users", None),
            ("GET", f"/api/admin/users/{alice.id}", None),
            ("PATCH", f"/api/admin/users/{alice.id}", {"is_active": False}),
            ("PATCH", f"/api/admin/users/{bob.id}", {"role": "admin"}),
        ]
        for method, url, body in attempts:
            response = await client.request(method, url, json=body, headers=bob.headers)
            assert response.status_code == 403, url
            assert alice.email not in response.text
        for method, url in [("PUT", "/api/users/me"), ("DELETE", "/api/users/me")]:
            await client.request(
                method, url, json={"id": alice.id}, headers=bob.headers
            )
        me = await client.get("/api/users/me", headers=alice.headers)
        assert me.status_code == 200
        assert (me.json()["email"], me.json()["is_active"], me.json()["role"]) == (
            alice.email,
            True,
            "user",
        )

    async def test_users_me_with_an_id_is_not_a_route(
        self, client: httpx.AsyncClient
    ) -> None:
        alice = await make_user(client)
        bob = await make_user(client)
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(
                method, f"/api/users/{alice.id}", headers=bob.headers, json={}
            )
            assert response.status_code == 404, method  # no /api/users/{id} route
            assert response.json()["error_type"] == "not_found", method
            assert alice.email not in response.text
        assert (await client.get("/api/users/me", headers=alice.headers)).is_success


@pytest.mark.usefixtures("app")  # its teardown empties what this test's app wrote
async def test_passwords_hashes_and_tokens_never_reach_the_logs(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(
        settings.model_copy(update={"log_level": "DEBUG", "log_format": "json"})
    )
    secret_pw = "Very-Secret-Pa55word"
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            user = await make_user(c, password=secret_pw)
            await c.post(
                "/api/auth/login",
                json={"email": user.email, "password": "wrong-" + secret_pw},
            )
            await c.post(
                "/api/auth/token",
                data={"username": "nobody", "password": "nobody-" + secret_pw},
            )
            await c.put(
                "/api/users/me",
                json={"password": secret_pw + "2"},
                headers=user.headers,
            )
            await c.patch(
                f"/api/admin/users/{user.id}",
                json={"is_active": False},
                headers=await admin_headers(c),
            )
        async with runtime_of(app).sessionmaker() as session:
            stored = await session.get(User, user.id)
            assert stored is not None
            password_hash = stored.password_hash
    output = capfd.readouterr()
    logs = output.err + output.out
    for event in ("user_registered", "login_failed", "user_updated"):
        assert event in logs
    assert "user_changed_by_admin" in logs
    assert secret_pw not in logs
    assert password_hash not in logs
    assert password_hash.split("$")[-1] not in logs
    assert user.token not in logs
    assert user.token.split(".")[-1] not in logs
