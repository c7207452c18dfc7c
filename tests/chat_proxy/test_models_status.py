"""GET /api/models and GET /api/status (seed 004)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.chat.helpers import add_key
from tests.chat_proxy.helpers import assert_seed_error, chat
from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply


class TestModels:
    async def test_chat_models_in_openai_list_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.get("/api/models", headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list"
        by_id = {m["id"]: m for m in body["data"]}
        assert len(by_id) == len(body["data"])
        mini = by_id["gpt-4o-mini"]
        assert mini["object"] == "model"
        assert isinstance(mini["created"], int)
        assert mini["owned_by"] in mini["providers"]
        assert "openai" in mini["providers"]
        assert "claude-sonnet-4-5" in by_id
        # Only chat models: no embeddings, speech or image models.
        assert "text-embedding-3-small" not in by_id
        assert "whisper-1" not in by_id
        assert "tts-1" not in by_id

    async def test_models_of_an_openai_compatible_server_are_listed(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        fake_upstream.models = ["local-llama-3"]
        await add_key(
            client, user, fake_upstream, "sk-pm-local", provider="openai_compatible"
        )
        response = await client.get("/api/models", headers=user.headers)
        by_id = {m["id"]: m for m in response.json()["data"]}
        assert by_id["local-llama-3"]["owned_by"] == "openai_compatible"
        other = await make_user(client)
        response = await client.get("/api/models", headers=other.headers)
        assert "local-llama-3" not in {m["id"] for m in response.json()["data"]}

    async def test_the_existing_model_routes_are_not_shadowed(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.get("/api/models/available", headers=user.headers)
        assert response.status_code == 200, response.text
        assert "models" in response.json()

    async def test_unauthorized_without_a_token(
        self, client: httpx.AsyncClient
    ) -> None:
        assert_seed_error(await client.get("/api/models"), 401, "unauthorized")
        assert_seed_error(await client.get("/api/status"), 401, "unauthorized")


def _by_name(body: dict[str, object]) -> dict[str, dict[str, object]]:
    accounts = body["accounts"]
    assert isinstance(accounts, list)
    return {a["name"]: a for a in accounts}


class TestStatus:
    async def test_no_keys(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.get("/api/status", headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        worker = body.pop("media_worker")  # aihub's addition to the seed's shape
        assert body == {
            "authenticated": False,
            "accounts": [],
            "providers": {},
        }
        assert worker["status"] in ("ok", "none_seen")

    async def test_ok_wait_and_invalid_after_429_and_401(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-st-busy", default=Reply(status=429, retry_after=600))
        fake_upstream.script("sk-st-dead", default=Reply(status=401))
        fake_upstream.script("sk-st-good", default=Reply(text="served"))
        ids = {
            secret: await add_key(client, user, fake_upstream, secret)
            for secret in ("sk-st-busy", "sk-st-dead", "sk-st-good")
        }
        response = await client.get("/api/status", headers=user.headers)
        body = response.json()
        assert {a["status"] for a in body["accounts"]} == {"OK"}
        for _ in range(3):
            await chat(client, user, {"message": "go"})
        before = datetime.now(UTC)
        response = await client.get("/api/status", headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        accounts = _by_name(body)
        busy, dead, good = (
            accounts[s] for s in ("sk-st-busy", "sk-st-dead", "sk-st-good")
        )
        assert busy["status"] == "WAIT"
        assert busy["id"] == ids["sk-st-busy"]
        assert busy["provider"] == "openai"
        until = datetime.fromisoformat(str(busy["until"]))
        assert before + timedelta(seconds=500) < until
        assert until < before + timedelta(seconds=700)
        assert dead["status"] == "INVALID"
        assert dead["until"] is None
        assert dead["last_error"]
        assert good["status"] == "OK"
        assert good["until"] is None
        assert body["authenticated"] is True
        assert body["providers"] == {
            "openai": {"status": "OK", "until": None, "ok": 1, "wait": 1, "invalid": 1}
        }

    async def test_a_pool_of_resting_keys_waits_until_the_first_is_back(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-st-rest", default=Reply(status=429, retry_after=900))
        await add_key(client, user, fake_upstream, "sk-st-rest")
        response = await client.post(
            "/api/chat", json={"message": "x"}, headers=user.headers
        )
        assert_seed_error(response, 429, "rate_limit")
        body = (await client.get("/api/status", headers=user.headers)).json()
        summary = body["providers"]["openai"]
        assert summary["status"] == "WAIT"
        assert summary["until"] == body["accounts"][0]["until"]
        assert (summary["ok"], summary["wait"], summary["invalid"]) == (0, 1, 0)
        assert body["authenticated"] is True

    async def test_a_pool_of_rejected_keys_is_invalid(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-st-revoked", default=Reply(status=401))
        await add_key(client, user, fake_upstream, "sk-st-revoked")
        response = await client.post(
            "/api/chat", json={"message": "x"}, headers=user.headers
        )
        assert response.status_code == 400, response.text
        body = (await client.get("/api/status", headers=user.headers)).json()
        assert body["providers"]["openai"]["status"] == "INVALID"
        assert body["accounts"][0]["status"] == "INVALID"
        assert body["authenticated"] is False

    async def test_only_the_callers_keys_are_shown(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await make_user(client)
        other = await make_user(client)
        await add_key(client, owner, fake_upstream, "sk-st-owner")
        await add_key(client, other, fake_upstream, "sk-st-other", provider="anthropic")
        body = (await client.get("/api/status", headers=other.headers)).json()
        assert [a["name"] for a in body["accounts"]] == ["sk-st-other"]
        assert list(body["providers"]) == ["anthropic"]
