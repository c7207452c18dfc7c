"""GET /v1/models lists what the caller can be served, for the openai and
anthropic SDKs and an Open WebUI-style client (list, then chat with a model
found on the team's own OpenAI-compatible server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpx
import openai
import pytest

from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.gateway.keys_support import bearer, create_key


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> Account:
    return await make_user(http)


def _token(user: Account) -> str:
    return user.headers["Authorization"].removeprefix("Bearer ")


async def _openai_ids(live_server: LiveServer, api_key: str) -> dict[str, str]:
    client = openai.AsyncOpenAI(
        base_url=f"{live_server.url}/v1", api_key=api_key, max_retries=0
    )
    try:
        models = await client.models.list()
    finally:
        await client.close()
    return {m.id: m.owned_by for m in models.data}


async def test_only_providers_with_a_key_are_listed(
    http: httpx.AsyncClient,
    user: Account,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
) -> None:
    assert await _openai_ids(live_server, _token(user)) == {}
    await add_key(http, user, fake_upstream, "sk-m-oa")
    listed = await _openai_ids(live_server, _token(user))
    assert listed["gpt-4o-mini"] == "openai"
    assert listed["text-embedding-3-small"] == "openai"
    assert not any(m.startswith(("claude", "qwen")) for m in listed)
    assert "dall-e-3" not in listed  # images are not served on chat doors
    assert set(listed.values()) == {"openai"}
    # Another user without keys still sees nothing.
    other = await make_user(http)
    assert await _openai_ids(live_server, _token(other)) == {}


async def test_a_gateway_keys_allowed_models_filter_the_list(
    http: httpx.AsyncClient,
    user: Account,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
) -> None:
    await add_key(http, user, fake_upstream, "sk-m-gk")
    key = await create_key(http, user, models=["gpt-4o*"])
    listed = await _openai_ids(live_server, key["key"])
    assert set(listed) == {"gpt-4o", "gpt-4o-mini"}


async def test_anthropic_sdk_models_list(
    http: httpx.AsyncClient,
    user: Account,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
) -> None:
    await add_key(http, user, fake_upstream, "sk-m-ant", "anthropic")
    client = anthropic.AsyncAnthropic(
        base_url=live_server.url, api_key=_token(user), max_retries=0
    )
    try:
        page = await client.models.list()
    finally:
        await client.close()
    ids = [m.id for m in page.data]
    assert "claude-sonnet-4-5" in ids
    assert all(m.startswith("claude") for m in ids)
    sonnet = next(m for m in page.data if m.id == "claude-sonnet-4-5")
    assert sonnet.type == "model"
    assert sonnet.display_name


async def test_open_webui_lists_then_chats_with_a_discovered_model(
    http: httpx.AsyncClient,
    user: Account,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
) -> None:
    fake_upstream.models = ["llama3.2:3b", "qwen2.5-coder:7b"]
    await add_key(http, user, fake_upstream, "sk-m-ollama", "openai_compatible")
    fake_upstream.script("sk-m-ollama", default=Reply(text="hello from llama"))
    headers = bearer(_token(user))
    listed = (await http.get("/v1/models", headers=headers)).json()
    owners = {m["id"]: m["owned_by"] for m in listed["data"]}
    assert owners == {
        "llama3.2:3b": "openai_compatible",
        "qwen2.5-coder:7b": "openai_compatible",
    }
    model = listed["data"][0]["id"]
    response = await http.post(
        "/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "hello from llama"
    assert fake_upstream.last_request.json["model"] == model


async def test_api_models_available_served(
    http: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(http, user, fake_upstream, "sk-m-av", "anthropic")
    url = "/api/models/available"
    everything = (await http.get(url, headers=user.headers)).json()["models"]
    assert {m["provider"] for m in everything} >= {"openai", "anthropic"}
    served = (
        await http.get(url, params={"served": "true"}, headers=user.headers)
    ).json()["models"]
    assert served
    assert {m["provider"] for m in served} == {"anthropic"}
    assert served == [m for m in everything if m["provider"] == "anthropic"]
