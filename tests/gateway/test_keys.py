"""/api/gateway-keys/ CRUD and authentication with a gateway key."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text, update

from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.gateway.models import GatewayKey
from aihub.runtime import runtime_of
from tests.factories import Account, admin_headers, make_user
from tests.gateway.keys_support import (
    MakeClient,
    bearer,
    create_key,
    eventually_status,
    make_client,
    needs_redis,
    runtime,
)

__all__ = ["make_client", "runtime"]  # fixtures used by the tests below

pytestmark = pytest.mark.usefixtures("runtime")

URL = "/api/gateway-keys/"
READ_FIELDS = {
    "id",
    "name",
    "team_id",
    "key_prefix",
    "models",
    "rpm",
    "tpm",
    "budget_usd",
    "spend_usd",
    "expires_at",
    "revoked_at",
    "last_used_at",
    "created_at",
}


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


def _future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _rows(app: FastAPI) -> list[dict[str, Any]]:
    async with runtime_of(app).sessionmaker() as session:
        result = await session.execute(text("SELECT * FROM gateway_keys"))
        return [dict(row) for row in result.mappings()]


class QueryCounter:
    """Statements on gateway_keys sent by the app's engine."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        statement = args[2]
        if "gateway_keys" in statement:
            self.count += 1


@pytest.fixture
def key_queries(app: FastAPI) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    engine = runtime_of(app).engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


class TestCreate:
    async def test_key_is_returned_once_with_its_fields(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        expires = _future(days=3)
        created = await create_key(
            client,
            alice,
            name="  my bot ",
            models=["gpt-4o", "gpt-4o", "claude-3"],
            rpm=10,
            tpm=1000,
            budget_usd=2.5,
            expires_at=expires,
        )
        assert set(created) == READ_FIELDS | {"key"}
        key = created["key"]
        assert key.startswith("ahk-")
        assert len(key) > 40
        assert created["key_prefix"] == key[:12]
        assert created["name"] == "my bot"
        assert created["models"] == ["gpt-4o", "claude-3"]
        assert (created["rpm"], created["tpm"], created["budget_usd"]) == (
            10,
            1000,
            2.5,
        )
        assert created["spend_usd"] == 0
        assert datetime.fromisoformat(created["expires_at"]) == datetime.fromisoformat(
            expires
        )
        assert created["revoked_at"] is None
        assert created["last_used_at"] is None

        one = await client.get(f"{URL}{created['id']}", headers=alice.headers)
        assert one.status_code == 200
        assert set(one.json()) == READ_FIELDS
        listed = await client.get(URL, headers=alice.headers)
        assert [k["id"] for k in listed.json()] == [created["id"]]
        assert key not in one.text
        assert key not in listed.text

    async def test_defaults_allow_everything(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        assert created["models"] == []
        assert created["rpm"] is None
        assert created["tpm"] is None
        assert created["budget_usd"] is None
        assert created["expires_at"] is None

    async def test_only_the_hash_and_prefix_are_stored(
        self, app: FastAPI, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        key = created["key"]
        (row,) = await _rows(app)
        assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
        assert row["key_prefix"] == key[:12]
        for value in row.values():
            assert key not in str(value)
            assert key[12:] not in str(value)
        assert "key_hash" not in created

    async def test_each_key_is_new(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        first = await create_key(client, alice)
        second = await create_key(client, alice)
        assert first["key"] != second["key"]
        listed = await client.get(URL, headers=alice.headers)
        assert [k["id"] for k in listed.json()] == [second["id"], first["id"]]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"name": ""},
            {"name": "   "},
            {"name": "x" * 201},
            {"name": "a", "rpm": 0},
            {"name": "a", "tpm": -5},
            {"name": "a", "rpm": "many"},
            {"name": "a", "budget_usd": -1},
            {"name": "a", "models": "gpt-4o"},
            {"name": "a", "models": [""]},
            {"name": "a", "expires_at": "2001-01-01T00:00:00Z"},
            {"name": "a", "expires_at": "tomorrow"},
            {"name": "a", "key": "ahk-chosen-by-me"},
        ],
    )
    async def test_bad_input_is_422(
        self, client: httpx.AsyncClient, alice: Account, body: dict[str, Any]
    ) -> None:
        response = await client.post(URL, json=body, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"] is True
        assert response.json()["error_type"] == "validation_error"
        listed = await client.get(URL, headers=alice.headers)
        assert listed.json() == []

    async def test_needs_a_user_token(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        assert (await client.get(URL)).status_code == 401
        # A gateway key manages no gateway keys: these routes take a JWT only.
        response = await client.get(URL, headers=bearer(created["key"]))
        assert response.status_code == 401


class TestEdit:
    async def test_patch_changes_and_clears_fields(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, rpm=5, budget_usd=1.0)
        url = f"{URL}{created['id']}"
        response = await client.patch(
            url,
            json={"name": "renamed", "models": ["gpt-4o"], "tpm": 50, "rpm": None},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["name"] == "renamed"
        assert body["models"] == ["gpt-4o"]
        assert body["tpm"] == 50
        assert body["rpm"] is None
        assert body["budget_usd"] == 1.0  # not sent: unchanged
        response = await client.patch(
            url, json={"name": None, "models": None}, headers=alice.headers
        )
        assert response.json()["name"] == "renamed"
        assert response.json()["models"] == []
        again = await client.get(url, headers=alice.headers)
        assert again.json() == response.json()

    async def test_patch_rejects_bad_values(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, rpm=5)
        url = f"{URL}{created['id']}"
        for body in ({"rpm": 0}, {"expires_at": "2000-01-01T00:00:00"}, {"x": 1}):
            response = await client.patch(url, json=body, headers=alice.headers)
            assert response.status_code == 422, body
        assert (await client.get(url, headers=alice.headers)).json()["rpm"] == 5

    async def test_delete_revokes(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        url = f"{URL}{created['id']}"
        response = await client.delete(url, headers=alice.headers)
        assert response.status_code == 204
        assert response.content == b""
        revoked = (await client.get(url, headers=alice.headers)).json()
        assert revoked["revoked_at"] is not None
        # Idempotent: the first revocation time stays.
        assert (await client.delete(url, headers=alice.headers)).status_code == 204
        assert (await client.get(url, headers=alice.headers)).json() == revoked
        # A revoked key cannot be edited back to life.
        response = await client.patch(url, json={"name": "x"}, headers=alice.headers)
        assert response.status_code == 409
        assert response.json()["error_type"] == "conflict"

    async def test_unknown_and_absurd_ids(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        for method in ("GET", "PATCH", "DELETE"):
            response = await client.request(
                method, f"{URL}999999", json={}, headers=alice.headers
            )
            assert response.status_code == 404
            assert response.json()["error_type"] == "not_found"
            response = await client.request(
                method, f"{URL}99999999999", json={}, headers=alice.headers
            )
            assert response.status_code == 422


class TestIsolation:
    async def test_another_users_key_is_not_found_and_unchanged(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        created = await create_key(client, alice, rpm=3)
        url = f"{URL}{created['id']}"
        before = (await client.get(url, headers=alice.headers)).json()

        assert (await client.get(url, headers=bob.headers)).status_code == 404
        response = await client.patch(
            url, json={"name": "stolen", "rpm": 1000}, headers=bob.headers
        )
        assert response.status_code == 404
        assert response.json()["error_type"] == "not_found"
        assert (await client.delete(url, headers=bob.headers)).status_code == 404
        assert (await client.get(URL, headers=bob.headers)).json() == []

        assert (await client.get(url, headers=alice.headers)).json() == before
        response = await client.get("/test/whoami", headers=bearer(created["key"]))
        assert response.status_code == 200


class TestAuthentication:
    async def test_key_acts_as_its_owner(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, models=["gpt-4o"])
        response = await client.get("/test/whoami", headers=bearer(created["key"]))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "user_id": alice.id,
            "is_admin": False,
            "key_id": created["id"],
            "models": ["gpt-4o"],
        }
        # Anthropic's SDK sends x-api-key.
        response = await client.get(
            "/test/whoami", headers={"x-api-key": created["key"]}
        )
        assert response.json()["key_id"] == created["id"]

    async def test_a_jwt_is_a_caller_without_key(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        response = await client.get("/test/whoami", headers=alice.headers)
        assert response.json()["user_id"] == alice.id
        assert response.json()["key_id"] is None

    @pytest.mark.parametrize(
        "token", ["ahk-not-a-real-key", "ahk-" + "x" * 5000, "ahk-"]
    )
    async def test_unknown_key_is_401(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await client.get("/test/whoami", headers=bearer(token))
        assert response.status_code == 401
        assert response.json() == {
            "error": True,
            "error_message": "Invalid API key",
            "error_type": "unauthorized",
        }

    async def test_a_cached_key_needs_no_database(
        self,
        client: httpx.AsyncClient,
        alice: Account,
        key_queries: QueryCounter,
    ) -> None:
        created = await create_key(client, alice)
        headers = bearer(created["key"])
        key_queries.count = 0
        assert (await client.get("/test/whoami", headers=headers)).status_code == 200
        assert key_queries.count == 1  # the miss
        for _ in range(5):
            assert (
                await client.get("/test/whoami", headers=headers)
            ).status_code == 200
        assert key_queries.count == 1
        # Unknown keys are remembered too: a flood of them stays off the database.
        for _ in range(3):
            await client.get("/test/whoami", headers=bearer("ahk-bogus"))
        assert key_queries.count == 2

    async def test_concurrent_misses_load_the_key_once(
        self,
        client: httpx.AsyncClient,
        alice: Account,
        key_queries: QueryCounter,
    ) -> None:
        created = await create_key(client, alice)
        headers = bearer(created["key"])
        key_queries.count = 0
        responses = await asyncio.gather(
            *(client.get("/test/whoami", headers=headers) for _ in range(10))
        )
        assert [r.status_code for r in responses] == [200] * 10
        assert key_queries.count == 1

    async def test_revoked_key_is_refused_at_once(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        headers = bearer(created["key"])
        assert (await client.get("/test/whoami", headers=headers)).status_code == 200
        await client.delete(f"{URL}{created['id']}", headers=alice.headers)
        response = await client.get("/test/whoami", headers=headers)
        assert response.status_code == 401
        assert response.json()["error_message"] == "Invalid API key"

    async def test_expired_key_is_refused(
        self, app: FastAPI, client: httpx.AsyncClient, alice: Account
    ) -> None:
        # Cached while valid, then refused once its time has come, still cached.
        soon = await create_key(client, alice, expires_at=_future(seconds=4))
        headers = bearer(soon["key"])
        assert (await client.get("/test/whoami", headers=headers)).status_code == 200
        await eventually_status(
            client, "GET", "/test/whoami", 401, headers=headers, within_s=20
        )

        # Expired in the database before its first use.
        later = await create_key(client, alice, expires_at=_future(days=1))
        async with runtime_of(app).sessionmaker() as session:
            await session.execute(
                update(GatewayKey)
                .where(GatewayKey.id == later["id"])
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
            await session.commit()
        response = await client.get("/test/whoami", headers=bearer(later["key"]))
        assert response.status_code == 401

    async def test_a_new_expiry_revives_an_expired_key_at_once(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, expires_at=_future(seconds=1))
        headers = bearer(created["key"])
        await eventually_status(client, "GET", "/test/whoami", 401, headers=headers)
        response = await client.patch(
            f"{URL}{created['id']}",
            json={"expires_at": _future(days=1)},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
        assert (await client.get("/test/whoami", headers=headers)).status_code == 200

    async def test_an_edit_takes_effect_at_once(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice, expires_at=_future(days=1))
        headers = bearer(created["key"])
        assert (await client.get("/test/whoami", headers=headers)).status_code == 200
        await client.patch(
            f"{URL}{created['id']}",
            json={"models": ["only-this"]},
            headers=alice.headers,
        )
        response = await client.get("/test/whoami", headers=headers)
        assert response.json()["models"] == ["only-this"]

    async def test_inactive_owner_is_refused(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        admin = await admin_headers(client)
        response = await client.patch(
            f"/api/admin/users/{alice.id}", json={"is_active": False}, headers=admin
        )
        assert response.status_code == 200, response.text
        response = await client.get("/test/whoami", headers=bearer(created["key"]))
        assert response.status_code == 401

    async def test_admin_owner_is_an_admin_caller(
        self, client: httpx.AsyncClient
    ) -> None:
        admin = await admin_headers(client)
        response = await client.post(URL, json={"name": "ops"}, headers=admin)
        key = response.json()["key"]
        response = await client.get("/test/whoami", headers=bearer(key))
        assert response.json()["is_admin"] is True

    async def test_last_use_is_recorded(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        created = await create_key(client, alice)
        await client.get("/test/whoami", headers=bearer(created["key"]))
        url = f"{URL}{created['id']}"
        for _ in range(200):
            body = (await client.get(url, headers=alice.headers)).json()
            if body["last_used_at"] is not None:
                break
            await asyncio.sleep(0.02)
        used = datetime.fromisoformat(body["last_used_at"])
        assert used >= datetime.fromisoformat(created["created_at"])


@needs_redis
class TestAcrossProcesses:
    async def test_revocation_reaches_the_other_instance(
        self, client: httpx.AsyncClient, alice: Account, make_client: MakeClient
    ) -> None:
        second = await make_client()
        created = await create_key(client, alice)
        headers = bearer(created["key"])
        # Cached in both.
        assert (await client.get("/test/whoami", headers=headers)).status_code == 200
        assert (await second.get("/test/whoami", headers=headers)).status_code == 200

        await client.delete(f"{URL}{created['id']}", headers=alice.headers)
        await eventually_status(second, "GET", "/test/whoami", 401, headers=headers)

    async def test_revocation_from_the_other_instance(
        self, client: httpx.AsyncClient, alice: Account, make_client: MakeClient
    ) -> None:
        second = await make_client()
        created = await create_key(client, alice)
        headers = bearer(created["key"])
        assert (await client.get("/test/whoami", headers=headers)).status_code == 200
        response = await second.delete(f"{URL}{created['id']}", headers=alice.headers)
        assert response.status_code == 204
        await eventually_status(client, "GET", "/test/whoami", 401, headers=headers)

    async def test_an_edit_reaches_the_other_instance(
        self,
        client: httpx.AsyncClient,
        alice: Account,
        make_client: MakeClient,
        runtime: GatewayRuntime,
    ) -> None:
        second = await make_client()
        created = await create_key(client, alice)
        headers = bearer(created["key"])
        assert (await second.get("/test/whoami", headers=headers)).json()[
            "models"
        ] == []
        await client.patch(
            f"{URL}{created['id']}", json={"models": ["m1"]}, headers=alice.headers
        )
        for _ in range(500):
            response = await second.get("/test/whoami", headers=headers)
            if response.json()["models"] == ["m1"]:
                break
            await asyncio.sleep(0.02)
        assert response.json()["models"] == ["m1"]
