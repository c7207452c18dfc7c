"""Issue 14: /v1/messages honours AIHUB_MODEL_FALLBACKS as /v1/chat/completions
does, on the native Anthropic path (pass-through) and the translated one, only
before anything reached the client, with one request-log row per call naming
the target that served it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from aihub.core.settings import Settings
from tests.chat.helpers import add_key
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.gateway.test_messages_api import (
    URL,
    assert_anthropic_error,
    body,
    rows,
    sse_events,
)

FALLBACKS = {
    "anthropic/claude-haiku-4-5": [
        "anthropic/claude-sonnet-4-5",
        "openai/gpt-4o-mini",
    ],
    "openai/gpt-4o": ["anthropic/claude-haiku-4-5"],
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"model_fallbacks": FALLBACKS})


@pytest.fixture
async def user(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


async def test_native_model_falls_back_to_the_next_anthropic_model(
    app: FastAPI, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(client, user, fake_upstream, "sk-ant-fb1", "anthropic")
    # the first model: three 503s (the try and AIHUB_UPSTREAM_RETRIES), then fine
    fake_upstream.script(
        "sk-ant-fb1", [Reply(status=503)] * 3 + [Reply(text="from sonnet")]
    )

    response = await client.post(
        URL, json=body("claude-haiku-4-5"), headers=user.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "from sonnet"
    sent = [r.json["model"] for r in fake_upstream.requests_for("sk-ant-fb1")]
    assert len(sent) == 4
    assert len(set(sent[:3])) == 1
    assert sent[3] != sent[0]
    assert sent[3].startswith("claude-sonnet-4-5")
    (row,) = await rows(app)
    assert (row.provider, row.model, row.status) == (
        "anthropic",
        "claude-sonnet-4-5",
        "ok",
    )


async def test_native_model_falls_back_to_a_translated_provider(
    app: FastAPI, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(client, user, fake_upstream, "sk-ant-broke", "anthropic")
    await add_key(client, user, fake_upstream, "sk-oai-fb", "openai")
    fake_upstream.script("sk-ant-broke", default=Reply(status=402))
    fake_upstream.script("sk-oai-fb", [Reply(text="from gpt", chunks=2)])

    response = await client.post(
        URL, json=body("claude-haiku-4-5", stream=True), headers=user.headers
    )

    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events[0][0] == "message_start"
    assert events[-1][0] == "message_stop"
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "from gpt"
    # the 402 put the Anthropic key aside: each model of it was tried once at most
    assert len(fake_upstream.requests_for("sk-ant-broke")) == 1
    assert fake_upstream.requests_for("sk-oai-fb")[0].json["model"] == "gpt-4o-mini"
    (row,) = await rows(app)
    assert (row.provider, row.model, row.status) == ("openai", "gpt-4o-mini", "ok")


async def test_translated_model_falls_back_to_the_native_path(
    app: FastAPI, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(client, user, fake_upstream, "sk-ant-fb3", "anthropic")
    fake_upstream.script("sk-ant-fb3", [Reply(text="claude here")])

    # no OpenAI key at all: gpt-4o's fallback serves
    response = await client.post(URL, json=body("gpt-4o"), headers=user.headers)

    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "claude here"
    (row,) = await rows(app)
    assert (row.provider, row.model) == ("anthropic", "claude-haiku-4-5")


async def test_when_every_target_fails_the_last_error_is_answered(
    app: FastAPI, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(client, user, fake_upstream, "sk-ant-all", "anthropic")
    fake_upstream.script("sk-ant-all", default=Reply(status=402))

    # haiku -> sonnet (same key, now set aside) -> gpt-4o-mini (no OpenAI key)
    response = await client.post(
        URL, json=body("claude-haiku-4-5"), headers=user.headers
    )

    assert_anthropic_error(response, 400, None)
    assert len(fake_upstream.requests_for("sk-ant-all")) == 1
    (row,) = await rows(app)
    assert (row.provider, row.status, row.error_type) == (
        "openai",
        "error",
        "api_key_not_found",
    )


async def test_a_rejected_request_does_not_fall_back(
    app: FastAPI, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
) -> None:
    await add_key(client, user, fake_upstream, "sk-ant-bad", "anthropic")
    fake_upstream.script("sk-ant-bad", [Reply(status=400)])

    response = await client.post(
        URL, json=body("claude-haiku-4-5"), headers=user.headers
    )

    assert_anthropic_error(response, 400, None)
    assert len(fake_upstream.requests_for("sk-ant-bad")) == 1
    (row,) = await rows(app)
    assert (row.provider, row.model, row.status) == (
        "anthropic",
        "claude-haiku-4-5",
        "error",
    )
