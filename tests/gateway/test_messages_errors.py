"""/v1/messages: authentication, bad input, gateway keys and count_tokens,
in Anthropic's error shape (the ASGI app against the fake upstream)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.chat.helpers import add_key
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream
from tests.gateway.test_messages_api import (
    URL,
    WEATHER_TOOL,
    assert_anthropic_error,
    body,
    rows,
)


@pytest.fixture
async def user(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


class TestErrors:
    async def test_no_credentials_is_authentication_error(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(URL, json=body("claude-haiku-4-5"))
        assert_anthropic_error(response, 401, "authentication_error")

    async def test_jwt_in_x_api_key_is_accepted(
        self, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-6", "anthropic")
        token = user.headers["Authorization"].removeprefix("Bearer ")
        response = await client.post(
            URL, json=body("claude-haiku-4-5"), headers={"x-api-key": token}
        )
        assert response.status_code == 200, response.text

    async def test_no_provider_key_is_invalid_request(
        self, client: httpx.AsyncClient, user: Account
    ) -> None:
        response = await client.post(
            URL, json=body("claude-haiku-4-5"), headers=user.headers
        )
        assert_anthropic_error(response, 400, None)
        assert "key" in response.json()["error"]["message"]

    async def test_another_users_key_is_never_used(
        self, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-owner", "anthropic")
        other = await make_user(client)
        response = await client.post(
            URL, json=body("claude-haiku-4-5"), headers=other.headers
        )
        assert_anthropic_error(response, 400, None)
        assert fake_upstream.requests == []

    async def test_unknown_model_is_not_found(
        self, client: httpx.AsyncClient, user: Account
    ) -> None:
        response = await client.post(
            URL, json=body("no-such-model-x"), headers=user.headers
        )
        assert_anthropic_error(response, 404, "not_found_error")

    @pytest.mark.parametrize(
        "raw",
        [
            b"not json",
            b"[1, 2]",
            b'{"max_tokens": 5, "messages": []}',
            b'{"model": "gpt-4o-mini", "max_tokens": 5, "stream": "yes",'
            b' "messages": [{"role": "user", "content": "x"}]}',
            b'{"model": "gpt-4o-mini", "max_tokens": 5, "messages": []}',
            b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}',
            b'{"model": "gpt-4o-mini", "max_tokens": 5,'
            b' "messages": [{"role": "system", "content": "x"}]}',
            b'{"model": "gpt-4o-mini", "max_tokens": 5,'
            b' "messages": [{"role": "user", "content": [{"type": "video"}]}]}',
            b'{"model": "gpt-4o-mini", "max_tokens": 5, "tools": [{"name": "t"}],'
            b' "messages": [{"role": "user", "content": "x"}]}',
            b'{"model": "gpt-4o-mini", "max_tokens": 5,'
            b' "tools": [{"type": "web_search_20250305", "name": "web_search"}],'
            b' "messages": [{"role": "user", "content": "x"}]}',
        ],
    )
    async def test_malformed_body_is_invalid_request(
        self,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
        raw: bytes,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-bad")
        response = await client.post(URL, content=raw, headers=user.headers)
        assert_anthropic_error(response, 400, "invalid_request_error")
        assert fake_upstream.requests == []


class TestCountTokens:
    async def test_other_providers_are_counted_here(
        self, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-ct")
        short = body("gpt-4o-mini")
        long = body("gpt-4o-mini", system="word " * 50, tools=[WEATHER_TOOL])
        counts = []
        for request in (short, long):
            del request["max_tokens"]
            response = await client.post(
                f"{URL}/count_tokens", json=request, headers=user.headers
            )
            assert response.status_code == 200, response.text
            assert "x-aihub-overhead-ms" in response.headers
            counts.append(response.json()["input_tokens"])
        assert 0 < counts[0] < counts[1] - 50
        assert fake_upstream.requests == []

    async def test_anthropic_without_the_endpoint_is_counted_here(
        self, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-ct", "anthropic")
        request = body("claude-haiku-4-5")
        del request["max_tokens"]
        response = await client.post(
            f"{URL}/count_tokens", json=request, headers=user.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["input_tokens"] > 0
        assert fake_upstream.last_request.path == "/v1/messages/count_tokens"


class TestGatewayKeys:
    async def test_key_limited_to_models(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-gk")
        await add_key(client, user, fake_upstream, "sk-ant-gk", "anthropic")
        created = await client.post(
            "/api/gateway-keys/",
            json={"name": "ci", "models": ["gpt-4o-mini"]},
            headers=user.headers,
        )
        assert created.status_code == 201, created.text
        headers = {"x-api-key": created.json()["key"]}
        refused = await client.post(URL, json=body("claude-haiku-4-5"), headers=headers)
        assert_anthropic_error(refused, 403, "permission_error")
        allowed = await client.post(URL, json=body("gpt-4o-mini"), headers=headers)
        assert allowed.status_code == 200, allowed.text
        assert [r.key for r in fake_upstream.requests] == ["sk-oa-gk"]
        (row,) = await rows(app)
        assert row.gateway_key_id == created.json()["id"]
        assert row.user_id == user.id
