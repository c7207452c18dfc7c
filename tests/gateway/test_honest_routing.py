"""A model goes only to a provider that offers it: the caller's own
OpenAI-compatible server answers for the names it lists, under those names,
and an id nobody serves is a 404 ``model_not_found`` in each door's shape."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def server_user(http: httpx.AsyncClient, fake_upstream: FakeUpstream) -> Account:
    """A user whose only key is their own server, which lists two models."""
    fake_upstream.models = ["llama3.2:3b", "claude-3-5-haiku"]
    user = await make_user(http)
    await add_key(http, user, fake_upstream, "sk-hr-srv", "openai_compatible")
    return user


async def test_an_id_nobody_serves_is_model_not_found_on_every_door(
    http: httpx.AsyncClient, server_user: Account, fake_upstream: FakeUpstream
) -> None:
    headers = server_user.headers
    chat = await http.post(
        "/v1/chat/completions",
        json={"model": "made-up-model", "messages": HI},
        headers=headers,
    )
    assert chat.status_code == 404
    assert chat.json()["error"]["code"] == "model_not_found"
    responses = await http.post(
        "/v1/responses", json={"model": "made-up-model", "input": "hi"}, headers=headers
    )
    assert responses.status_code == 404
    assert responses.json()["error"]["code"] == "model_not_found"
    messages = await http.post(
        "/v1/messages",
        json={"model": "made-up-model", "max_tokens": 5, "messages": HI},
        headers=headers,
    )
    assert messages.status_code == 404
    assert messages.json() == {
        "type": "error",
        "error": {
            "type": "not_found_error",
            "message": messages.json()["error"]["message"],
        },
    }
    # Only the model list was asked for: no chat call reached the server.
    assert {r.path for r in fake_upstream.requests} == {"/v1/models"}


async def test_a_catalog_model_the_server_does_not_list_is_not_sent_there(
    http: httpx.AsyncClient, server_user: Account, fake_upstream: FakeUpstream
) -> None:
    """claude-3-opus and gpt-4o are Anthropic's and OpenAI's; the caller holds
    no key for either and their server does not list them: refused (no key for
    the provider), nothing forwarded."""
    response = await http.post(
        "/v1/messages",
        json={"model": "claude-3-opus", "max_tokens": 5, "messages": HI},
        headers=server_user.headers,
    )
    assert response.status_code == 400
    response = await http.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o", "messages": HI},
        headers=server_user.headers,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "api_key_not_found"
    assert {r.path for r in fake_upstream.requests} == {"/v1/models"}


async def test_a_listed_model_is_served_under_the_name_the_server_gave(
    http: httpx.AsyncClient, server_user: Account, fake_upstream: FakeUpstream
) -> None:
    response = await http.post(
        "/v1/messages",
        json={"model": "claude-3-5-haiku", "max_tokens": 5, "messages": HI},
        headers=server_user.headers,
    )
    assert response.status_code == 200, response.text
    # Not rewritten to Anthropic's dated id, and the answer names what served it.
    sent = fake_upstream.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.json["model"] == "claude-3-5-haiku"
    assert response.json()["model"] == "claude-3-5-haiku"
