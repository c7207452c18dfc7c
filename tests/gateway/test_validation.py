"""Every /v1 door checks its body before anything is forwarded: a malformed one
is a 400 in the door's own error shape, the fake upstream gets no request and
the provider key stays as it was. (Seed 004's /api/chat/completions and
/api/ask validate with their schemas: tests/chat_proxy and tests/ask.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream

GOOD = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> Account:
    return await make_user(http)


async def _key_state(http: httpx.AsyncClient, user: Account) -> list[Any]:
    keys = (await http.get("/api/api-keys/", headers=user.headers)).json()
    return [(k["status"], k["last_error"]) for k in keys]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": "gpt-4o-mini"}, "messages"),
        ({"model": "gpt-4o-mini", "messages": []}, "messages"),
        ({"model": "gpt-4o-mini", "messages": "hi"}, "messages"),
        ({"model": "gpt-4o-mini", "messages": ["hi"]}, "messages[0]"),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]},
            "role",
        ),
        ({"model": "gpt-4o-mini", "messages": [{"role": "user"}]}, "content"),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": 5}]},
            "content",
        ),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "tool", "content": "x"}]},
            "tool_call_id",
        ),
        ({"model": "gpt-4o-mini", "messages": GOOD, "n": 0}, "n"),
        ({"model": "gpt-4o-mini", "messages": GOOD, "n": 1000}, "n"),
        ({"model": "gpt-4o-mini", "messages": GOOD, "n": "2"}, "n"),
        ({"model": "gpt-4o-mini", "messages": GOOD, "max_tokens": 0}, "max_tokens"),
        ({"model": "gpt-4o-mini", "messages": GOOD, "max_tokens": 1.5}, "max_tokens"),
        (
            {"model": "gpt-4o-mini", "messages": GOOD, "max_completion_tokens": -1},
            "max_completion_tokens",
        ),
        ({"model": "gpt-4o-mini", "messages": GOOD, "temperature": 9}, "temperature"),
        ({"model": "gpt-4o-mini", "messages": GOOD, "stream": "yes"}, "stream"),
    ],
)
async def test_chat_completions(
    http: httpx.AsyncClient,
    user: Account,
    fake_upstream: FakeUpstream,
    body: dict[str, Any],
    needle: str,
) -> None:
    await add_key(http, user, fake_upstream, "sk-v-chat")
    before = await _key_state(http, user)
    response = await http.post("/v1/chat/completions", json=body, headers=user.headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert needle in error["message"]
    assert fake_upstream.requests == []
    assert await _key_state(http, user) == before
    # The same key still serves a good call.
    ok = await http.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": GOOD},
        headers=user.headers,
    )
    assert ok.status_code == 200
    assert len(fake_upstream.requests) == 1


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v1/messages", {"model": "claude-sonnet-4-5", "max_tokens": 9}, "messages"),
        (
            "/v1/messages",
            {"model": "claude-sonnet-4-5", "max_tokens": 9, "messages": []},
            "messages",
        ),
        (
            "/v1/messages",
            {
                "model": "claude-sonnet-4-5",
                "max_tokens": 9,
                "messages": [{"role": "system", "content": "x"}],
            },
            "role",
        ),
        (
            "/v1/messages",
            {
                "model": "claude-sonnet-4-5",
                "max_tokens": 9,
                "messages": [{"role": "user", "content": 7}],
            },
            "content",
        ),
        (
            "/v1/messages",
            {"model": "claude-sonnet-4-5", "messages": GOOD},
            "max_tokens",
        ),
        (
            "/v1/messages",
            {"model": "claude-sonnet-4-5", "max_tokens": 0, "messages": GOOD},
            "max_tokens",
        ),
        (
            "/v1/messages",
            {
                "model": "claude-sonnet-4-5",
                "max_tokens": 9,
                "messages": GOOD,
                "temperature": 1.5,
            },
            "temperature",
        ),
        (
            "/v1/messages/count_tokens",
            {"model": "claude-sonnet-4-5", "messages": []},
            "messages",
        ),
    ],
)
async def test_anthropic_messages(
    http: httpx.AsyncClient,
    user: Account,
    fake_upstream: FakeUpstream,
    path: str,
    body: dict[str, Any],
    needle: str,
) -> None:
    """Anthropic's own model: the body would have been passed through as is."""
    await add_key(http, user, fake_upstream, "sk-v-ant", "anthropic")
    before = await _key_state(http, user)
    response = await http.post(path, json=body, headers=user.headers)
    assert response.status_code == 400, response.text
    data = response.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == "invalid_request_error"
    assert needle in data["error"]["message"]
    assert fake_upstream.requests == []
    assert await _key_state(http, user) == before


async def test_embeddings_need_input(
    http: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(http, user, fake_upstream, "sk-v-emb")
    for body in (
        {"model": "text-embedding-3-small"},
        {"model": "text-embedding-3-small", "input": []},
    ):
        response = await http.post("/v1/embeddings", json=body, headers=user.headers)
        assert response.status_code == 400
        assert "input" in response.json()["error"]["message"]
    assert fake_upstream.requests == []


async def test_responses_door(
    http: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(http, user, fake_upstream, "sk-v-resp")
    for body in (
        {"model": "gpt-4o-mini", "input": []},
        {"model": "gpt-4o-mini", "input": [{"role": "robot", "content": "x"}]},
        {"model": "gpt-4o-mini", "input": "x", "max_output_tokens": -5},
    ):
        response = await http.post("/v1/responses", json=body, headers=user.headers)
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"
    assert fake_upstream.requests == []


async def test_a_gateway_keys_bad_body_is_refused_too(
    http: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    """A gateway key's bad body is refused the same way (no user token)."""
    owner = await make_user(http)
    await add_key(http, owner, fake_upstream, "sk-v-gk")
    created = await http.post(
        "/api/gateway-keys/", json={"name": "v"}, headers=owner.headers
    )
    key = created.json()["key"]
    response = await http.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": []},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 400
    assert fake_upstream.requests == []
