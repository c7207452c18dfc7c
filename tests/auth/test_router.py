from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from asgi_lifespan import LifespanManager

from aihub.core.settings import Settings
from aihub.main import create_app
from tests.factories import make_user

BAD_LOGIN = {
    "error": True,
    "error_message": "Incorrect email/username or password",
    "error_type": "unauthorized",
}


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(
        "/api/users/me", headers={"Authorization": f"Bearer {token}"}
    )


class TestLoginForm:
    async def test_accepts_the_email_and_returns_exactly_the_seed_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/token", data={"username": user.email, "password": user.password}
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"access_token", "token_type"}
        assert body["token_type"] == "bearer"
        assert (await _me(client, body["access_token"])).json()["id"] == user.id

    async def test_accepts_the_username(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/token",
            data={"username": user.username, "password": user.password},
        )
        assert response.status_code == 200
        assert (await _me(client, response.json()["access_token"])).json()[
            "username"
        ] == user.username

    async def test_email_and_username_match_in_any_case(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client, username="MixedCase")
        for login in (user.email.upper(), "mixedcase", " MIXEDCASE "):
            response = await client.post(
                "/api/auth/token", data={"username": login, "password": user.password}
            )
            assert response.status_code == 200, login

    async def test_password_is_case_sensitive(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/token",
            data={"username": user.email, "password": user.password.upper()},
        )
        assert response.status_code == 401

    async def test_wrong_password_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/token", data={"username": user.email, "password": "nope-nope"}
        )
        assert response.status_code == 401
        assert response.json() == BAD_LOGIN
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_unknown_user_gets_the_same_answer_as_a_wrong_password(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/auth/token", data={"username": "ghost@x.io", "password": "whatever1"}
        )
        assert response.status_code == 401
        assert response.json() == BAD_LOGIN

    @pytest.mark.parametrize(
        "data",
        [
            {"username": "a\x00b@example.com", "password": "whatever1"},
            {"username": "x" * 100_000, "password": "whatever1"},
            {"username": "someone", "password": "y" * 100_000},
            {"username": "' OR 1=1 --", "password": "' OR 1=1 --"},
            {"username": "%", "password": "correct-horse-battery"},
        ],
        ids=["nul", "huge-login", "huge-password", "injection", "wildcard"],
    )
    async def test_strange_credentials_are_plainly_unauthorized(
        self, client: httpx.AsyncClient, data: dict[str, str]
    ) -> None:
        await make_user(client)
        response = await client.post("/api/auth/token", data=data)
        assert response.status_code == 401
        assert response.json() == BAD_LOGIN

    @pytest.mark.parametrize(
        "data",
        [{}, {"username": "someone"}, {"password": "whatever1"}],
        ids=["empty", "no-password", "no-username"],
    )
    async def test_missing_fields_are_validation_errors(
        self, client: httpx.AsyncClient, data: dict[str, str]
    ) -> None:
        response = await client.post("/api/auth/token", data=data)
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"

    async def test_json_body_is_a_validation_error(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/auth/token", json={"username": "a", "password": "b"}
        )
        assert response.status_code == 422


class TestLoginJson:
    async def test_email_returns_a_working_token(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        assert response.status_code == 200
        assert set(response.json()) == {"access_token", "token_type"}
        assert response.json()["token_type"] == "bearer"
        me = await _me(client, response.json()["access_token"])
        assert me.json()["email"] == user.email

    async def test_username_may_stand_in_for_the_email(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/login",
            json={"username": user.username, "password": user.password},
        )
        assert response.status_code == 200
        me = await _me(client, response.json()["access_token"])
        assert me.json()["id"] == user.id

    async def test_a_username_in_the_email_field_works_too(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/login", json={"email": user.username, "password": user.password}
        )
        assert response.status_code == 200

    async def test_wrong_password_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/auth/login", json={"email": user.email, "password": "wrong-one!"}
        )
        assert response.status_code == 401
        assert response.json() == BAD_LOGIN

    async def test_unknown_user_gets_the_same_answer(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/auth/login", json={"username": "ghost", "password": "whatever1"}
        )
        assert response.status_code == 401
        assert response.json() == BAD_LOGIN

    async def test_another_users_password_does_not_open_an_account(
        self, client: httpx.AsyncClient
    ) -> None:
        alice = await make_user(client, password="alice-password")
        bob = await make_user(client, password="bob-password")
        response = await client.post(
            "/api/auth/login", json={"email": alice.email, "password": bob.password}
        )
        assert response.status_code == 401

    @pytest.mark.parametrize(
        "body",
        [
            {"password": "whatever1"},
            {"email": "", "password": "whatever1"},
            {"email": "a@example.com"},
            {"email": 12, "password": "whatever1"},
            {"email": "a@example.com", "password": ["x"]},
            {"email": None, "username": None, "password": "whatever1"},
            {"email": "a" * 321, "password": "whatever1"},
            {"email": "a@example.com", "password": "p" * 1025},
            [],
            "a string",
            None,
        ],
    )
    async def test_bad_bodies_are_validation_errors(
        self, client: httpx.AsyncClient, body: Any
    ) -> None:
        response = await client.post("/api/auth/login", json=body)
        assert response.status_code == 422
        assert response.json()["error_type"] == "validation_error"
        assert response.json()["error"] is True

    async def test_malformed_json_is_a_validation_error(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/api/auth/login",
            content=b'{"email": ',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422


class TestTokenLifetime:
    # Its own app writes to the test database; the app fixture's teardown empties it.
    @pytest.mark.usefixtures("app")
    async def test_lasts_the_configured_minutes(self, settings: Settings) -> None:
        app = create_app(settings.model_copy(update={"access_token_minutes": 7}))
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                user = await make_user(c)
        assert settings.secret_key is not None
        claims = jwt.decode(
            user.token, settings.secret_key.get_secret_value(), algorithms=["HS256"]
        )
        assert claims["exp"] - claims["iat"] == 7 * 60
        assert claims["sub"] == str(user.id)
