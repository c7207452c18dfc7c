from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt

from tests.factories import make_user


class TestLogin:
    async def test_form_login_accepts_the_email(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/token", data={"username": user.email, "password": user.password}
        )
        assert response.status_code == 200
        assert response.json()["token_type"] == "bearer"
        assert set(response.json()) == {"access_token", "token_type"}

    async def test_form_login_accepts_the_username(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/token",
            data={"username": user.username, "password": user.password},
        )
        assert response.status_code == 200

    async def test_json_login_returns_a_working_token(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        token = response.json()["access_token"]
        me = await client.get(
            "/api/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.json()["email"] == user.email

    async def test_wrong_password_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/login", json={"email": user.email, "password": "wrong-one!"}
        )
        assert response.status_code == 401
        assert response.json() == {
            "error": True,
            "error_message": "Incorrect email/username or password",
            "error_type": "unauthorized",
        }

    async def test_unknown_user_gets_the_same_answer(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/auth/token", data={"username": "ghost@x.io", "password": "whatever1"}
        )
        assert response.status_code == 401
        assert response.json()["error_message"] == (
            "Incorrect email/username or password"
        )

    async def test_login_without_email_or_username_is_a_validation_error(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/api/auth/login", json={"password": "x"})
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"


class TestTokens:
    async def test_tampered_token_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        forged = user.token[:-4] + (
            "AAAA" if not user.token.endswith("AAAA") else "BBBB"
        )
        response = await client.get(
            "/api/users/me", headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401

    async def test_expired_token_is_unauthorized(
        self, client: httpx.AsyncClient, settings: object
    ) -> None:
        user = await make_user(client)
        secret = settings.secret_key.get_secret_value()  # type: ignore[attr-defined]
        past = datetime.now(UTC) - timedelta(minutes=5)
        token = jwt.encode(
            {"sub": str(user.id), "ver": 0, "typ": "access", "exp": past},
            secret,
            algorithm="HS256",
        )
        response = await client.get(
            "/api/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_token_signed_with_another_secret_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        future = datetime.now(UTC) + timedelta(minutes=5)
        token = jwt.encode(
            {"sub": str(user.id), "ver": 0, "typ": "access", "exp": future},
            "another-secret-another-secret-another",
            algorithm="HS256",
        )
        response = await client.get(
            "/api/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401

    async def test_missing_token_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/users/me")
        assert response.status_code == 401
        assert response.json()["error_type"] == "unauthorized"
