from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from aihub.categories.models import Category
from aihub.core.settings import Settings
from aihub.main import create_app
from tests.factories import admin_headers, make_user


class TestRegister:
    async def test_returns_the_seed_shape_without_the_password(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/users/",
            json={
                "email": "a@example.com",
                "username": "alice",
                "password": "long-enough-pw",
            },
        )
        assert response.status_code == 201
        body = response.json()
        assert {"id", "email", "username", "is_active", "created_at"} <= set(body)
        assert body["email"] == "a@example.com"
        assert body["is_active"] is True
        assert "password" not in response.text
        assert "password_hash" not in body

    async def test_taken_email_is_a_conflict(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/users/",
            json={
                "email": user.email.upper(),
                "username": "other",
                "password": "long-enough-pw",
            },
        )
        assert response.status_code == 409
        assert response.json()["error_type"] == "conflict"

    async def test_taken_username_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/users/",
            json={
                "email": "new@example.com",
                "username": user.username,
                "password": "long-enough-pw",
            },
        )
        assert response.status_code == 409

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "not-an-email", "username": "bob", "password": "long-enough"},
            {"email": "b@example.com", "username": "b", "password": "long-enough"},
            {"email": "b@example.com", "username": "bob", "password": "short"},
            {
                "email": "b@example.com",
                "username": "bob bob",
                "password": "long-enough",
            },
            {"email": "b@example.com", "password": "long-enough"},
        ],
    )
    async def test_invalid_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, body: dict[str, str]
    ) -> None:
        response = await client.post("/api/users/", json=body)
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"

    async def test_closed_registration_is_forbidden_but_admins_may_create(
        self, settings: Settings
    ) -> None:
        app = create_app(settings.model_copy(update={"open_registration": False}))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                body = {
                    "email": "c@example.com",
                    "username": "carol",
                    "password": "long-enough-pw",
                }
                refused = await c.post("/api/users/", json=body)
                created = await c.post(
                    "/api/users/", json=body, headers=await admin_headers(c)
                )
        assert refused.status_code == 403
        assert refused.json()["error_type"] == "forbidden"
        assert created.status_code == 201


class TestMe:
    async def test_update_changes_the_fields(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.put(
            "/api/users/me",
            json={"email": "changed@example.com", "username": "changed"},
            headers=user.headers,
        )
        assert response.status_code == 200
        assert response.json()["email"] == "changed@example.com"
        assert response.json()["username"] == "changed"

    async def test_password_change_ends_older_tokens(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        changed = await client.put(
            "/api/users/me", json={"password": "brand-new-pw"}, headers=user.headers
        )
        assert changed.status_code == 200
        stale = await client.get("/api/users/me", headers=user.headers)
        assert stale.status_code == 401
        login = await client.post(
            "/api/auth/login", json={"email": user.email, "password": "brand-new-pw"}
        )
        assert login.status_code == 200

    async def test_update_to_a_taken_email_is_a_conflict(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await make_user(client)
        second = await make_user(client)
        response = await client.put(
            "/api/users/me", json={"email": first.email}, headers=second.headers
        )
        assert response.status_code == 409

    async def test_delete_removes_the_account_and_its_data(
        self, client: httpx.AsyncClient, app: object
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        sessionmaker = app.state.sessionmaker  # type: ignore[attr-defined]
        async with sessionmaker() as session:
            session.add(Category(user_id=user.id, name="mine"))
            session.add(Category(user_id=other.id, name="theirs"))
            await session.commit()
        response = await client.delete("/api/users/me", headers=user.headers)
        assert response.status_code == 204
        assert (
            await client.get("/api/users/me", headers=user.headers)
        ).status_code == 401
        async with sessionmaker() as session:
            mine = await session.scalar(
                select(func.count()).where(Category.user_id == user.id)
            )
            theirs = await session.scalar(
                select(func.count()).where(Category.user_id == other.id)
            )
        assert (mine, theirs) == (0, 1)


async def test_passwords_and_hashes_never_reach_the_logs(
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
            await c.put(
                "/api/users/me",
                json={"password": secret_pw + "2"},
                headers=user.headers,
            )
        async with app.state.sessionmaker() as session:
            from aihub.users.models import User

            stored = await session.get(User, user.id)
            assert stored is not None
            password_hash = stored.password_hash
    output = capfd.readouterr()
    logs = output.err + output.out
    assert "user_registered" in logs
    assert secret_pw not in logs
    assert password_hash not in logs
