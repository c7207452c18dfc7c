"""The proxy reached with a gateway key ("ahk-..."): it acts as its owner, and
its limits hold here as on /v1 (allowed models, rpm, budget)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.chat_proxy.helpers import assert_seed_error, tree, user_with_key
from tests.factories import Account
from tests.fakes.upstream import FakeUpstream, FakeUsage, Reply


async def _key(client: httpx.AsyncClient, owner: Account, **fields: Any) -> str:
    response = await client.post(
        "/api/gateway-keys/", json={"name": "proxy", **fields}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    assert key.startswith("ahk-")
    return key


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class TestGatewayKeys:
    async def test_a_key_acts_as_its_owner(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-gk-owner")
        key = await _key(client, owner)
        response = await client.post(
            "/api/chat", json={"message": "from a program"}, headers=_bearer(key)
        )
        assert response.status_code == 200, response.text
        chat_id = response.json()["chatId"]
        assert len(fake_upstream.requests_for("sk-gk-owner")) == 1
        contents = [m["content"] for m in await tree(client, owner, chat_id)]
        assert contents[0] == "from a program"
        response = await client.get("/api/chats", headers=_bearer(key))
        assert [c["id"] for c in response.json()["chats"]] == [chat_id]
        response = await client.get("/api/status", headers=_bearer(key))
        assert [a["name"] for a in response.json()["accounts"]] == ["sk-gk-owner"]

    async def test_allowed_models_hold(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-gk-models")
        key = await _key(client, owner, models=["gpt-4o", "gpt-4o-mini*"])
        response = await client.post(
            "/api/chat",
            json={"message": "x", "model": "claude-sonnet-4-5"},
            headers=_bearer(key),
        )
        assert_seed_error(response, 403, "forbidden")
        response = await client.post(
            "/api/chat/completions",
            json={"messages": [{"role": "user", "content": "x"}], "model": "o3"},
            headers=_bearer(key),
        )
        assert_seed_error(response, 403, "forbidden")
        assert fake_upstream.requests_for("sk-gk-models") == []
        response = await client.get("/api/chats", headers=owner.headers)
        assert response.json()["chats"] == []
        # No model named: the first one the key names exactly.
        response = await client.post(
            "/api/chat", json={"message": "x"}, headers=_bearer(key)
        )
        assert response.status_code == 200, response.text
        assert response.json()["model"] == "gpt-4o"
        response = await client.post(
            "/api/chat",
            json={"message": "x", "model": "gpt-4o-mini"},
            headers=_bearer(key),
        )
        assert response.status_code == 200, response.text

    async def test_rpm_holds_with_ratelimit_headers(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-gk-rpm")
        key = await _key(client, owner, rpm=1)
        response = await client.post(
            "/api/chat", json={"message": "one"}, headers=_bearer(key)
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-limit-requests"] == "1"
        response = await client.post(
            "/api/chat/completions",
            json={"messages": [{"role": "user", "content": "two"}], "stream": True},
            headers=_bearer(key),
        )
        assert_seed_error(response, 429, "rate_limit")
        assert int(response.headers["retry-after"]) >= 1
        assert len(fake_upstream.requests_for("sk-gk-rpm")) == 1

    @pytest.mark.parametrize("stream", [False, True])
    async def test_the_budget_is_charged_and_holds(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream, stream: bool
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-gk-budget")
        usage = FakeUsage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
        fake_upstream.script("sk-gk-budget", default=Reply(text="costly", usage=usage))
        key = await _key(client, owner, budget_usd=0.5)
        body = {"message": "spend", "model": "gpt-4o-mini", "stream": stream}
        response = await client.post("/api/chat", json=body, headers=_bearer(key))
        assert response.status_code == 200, response.text
        listed = (await client.get("/api/gateway-keys/", headers=owner.headers)).json()
        assert listed[0]["spend_usd"] > 0.5
        response = await client.post("/api/chat", json=body, headers=_bearer(key))
        assert_seed_error(response, 402, "billing")
        assert len(fake_upstream.requests_for("sk-gk-budget")) == 1

    async def test_a_revoked_or_unknown_key_is_unauthorized(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-gk-revoked")
        key = await _key(client, owner)
        listed = (await client.get("/api/gateway-keys/", headers=owner.headers)).json()
        response = await client.delete(
            f"/api/gateway-keys/{listed[0]['id']}", headers=owner.headers
        )
        assert response.status_code == 204, response.text
        for token in (key, "ahk-not-a-real-key"):
            response = await client.post(
                "/api/chat", json={"message": "x"}, headers=_bearer(token)
            )
            assert_seed_error(response, 401, "unauthorized")
