"""CurrentUser and AdminUser: which bearer tokens get through (via /api/users/me)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from aihub.core.security import create_access_token, sign_token
from aihub.core.settings import Settings
from tests.factories import admin_headers, make_user


def _secret(settings: Settings) -> str:
    assert settings.secret_key is not None
    return settings.secret_key.get_secret_value()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _in(minutes: int) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


class TestCurrentUser:
    async def test_missing_token_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/users/me")
        assert response.status_code == 401
        assert response.json() == {
            "error": True,
            "error_message": "Not authenticated",
            "error_type": "unauthorized",
        }
        assert response.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer", "Bearer ", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "garbage"],
    )
    async def test_malformed_authorization_is_unauthorized(
        self, client: httpx.AsyncClient, authorization: str
    ) -> None:
        response = await client.get(
            "/api/users/me", headers={"Authorization": authorization}
        )
        assert response.status_code == 401
        assert response.json()["error_type"] == "unauthorized"

    async def test_a_valid_token_is_accepted(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        user = await make_user(client)
        token = create_access_token(
            secret=_secret(settings), user_id=user.id, token_version=0, minutes=5
        )
        response = await client.get("/api/users/me", headers=_bearer(token))
        assert response.status_code == 200

    async def test_expired_token_is_unauthorized(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        user = await make_user(client)
        token = create_access_token(
            secret=_secret(settings), user_id=user.id, token_version=0, minutes=-1
        )
        response = await client.get("/api/users/me", headers=_bearer(token))
        assert response.status_code == 401
        assert response.json()["error_message"] == "Invalid or expired token"
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_tampered_signature_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        head, payload, signature = user.token.split(".")
        flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
        response = await client.get(
            "/api/users/me", headers=_bearer(f"{head}.{payload}.{flipped}")
        )
        assert response.status_code == 401

    async def test_a_token_rewritten_to_name_another_user_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        victim = await make_user(client)
        attacker = await make_user(client)
        head, _, signature = attacker.token.split(".")
        payload = _b64(
            {"sub": str(victim.id), "ver": 0, "typ": "access", "exp": 4102444800}
        )
        response = await client.get(
            "/api/users/me", headers=_bearer(f"{head}.{payload}.{signature}")
        )
        assert response.status_code == 401

    async def test_unsigned_alg_none_token_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        head = _b64({"alg": "none", "typ": "JWT"})
        payload = _b64(
            {"sub": str(user.id), "ver": 0, "typ": "access", "exp": 4102444800}
        )
        response = await client.get(
            "/api/users/me", headers=_bearer(f"{head}.{payload}.")
        )
        assert response.status_code == 401

    async def test_token_signed_with_another_secret_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        token = create_access_token(
            secret="another-secret-that-is-long-enough-for-hs256",
            user_id=user.id,
            token_version=0,
            minutes=5,
        )
        response = await client.get("/api/users/me", headers=_bearer(token))
        assert response.status_code == 401

    async def test_a_token_for_another_purpose_is_unauthorized(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        user = await make_user(client)
        token = sign_token(
            _secret(settings), "voice", {"sub": str(user.id), "ver": 0}, 300
        )
        response = await client.get("/api/users/me", headers=_bearer(token))
        assert response.status_code == 401

    @pytest.mark.parametrize(
        "claims",
        [
            lambda uid: {"sub": str(uid), "ver": 0, "typ": "access"},
            lambda uid: {"ver": 0, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": uid, "ver": 0, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": "abc", "ver": 0, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": "²", "ver": 0, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": "0", "ver": 0, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": "-1", "ver": 0, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": "9" * 30, "ver": 0, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": str(uid), "ver": 1, "typ": "access", "exp": _in(5)},
            lambda uid: {"sub": str(uid), "typ": "access", "exp": _in(5)},
        ],
        ids=[
            "no-exp",
            "no-sub",
            "int-sub",
            "word-sub",
            "superscript-sub",
            "zero-sub",
            "negative-sub",
            "huge-sub",
            "stale-version",
            "no-version",
        ],
    )
    async def test_signed_tokens_with_bad_claims_are_unauthorized(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        claims: Callable[[int], dict[str, Any]],
    ) -> None:
        user = await make_user(client)
        token = jwt.encode(claims(user.id), _secret(settings), algorithm="HS256")
        response = await client.get("/api/users/me", headers=_bearer(token))
        assert response.status_code == 401
        assert response.json()["error_type"] == "unauthorized"

    async def test_a_deleted_users_token_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        deleted = await client.delete("/api/users/me", headers=user.headers)
        assert deleted.status_code == 204
        response = await client.get("/api/users/me", headers=user.headers)
        assert response.status_code == 401


class TestAdminUser:
    async def test_a_user_token_is_forbidden(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.get("/api/admin/users", headers=user.headers)
        assert response.status_code == 403
        assert response.json() == {
            "error": True,
            "error_message": "Administrator role required",
            "error_type": "forbidden",
        }

    async def test_no_token_is_unauthorized_not_forbidden(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/admin/users")
        assert response.status_code == 401

    async def test_an_admin_token_gets_through(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/api/admin/users", headers=await admin_headers(client)
        )
        assert response.status_code == 200
