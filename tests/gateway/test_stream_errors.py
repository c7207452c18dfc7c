"""Issue 14: an error in the middle of a stream comes out in one shape per wire
format, whichever route the call took (pass-through, translated, the hub's
run): OpenAI's error body as a ``data:`` chunk on /v1/chat/completions and the
seed 004 chat API, Anthropic's ``error`` event on /v1/messages, the hub's
``error`` frame on /api/threads streams. Each is the same body as the route's
HTTP errors before the first byte."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.chat.helpers import add_key, make_thread, parse_sse
from tests.chat_proxy.helpers import parse_chunks
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.gateway.test_messages_api import sse_events

DROP = Reply(text="kept words lost", chunks=3, drop_after_chunks=1)
OPENAI_ERROR = {
    "message": "",
    "type": "api_error",
    "param": None,
    "code": "api_error",
}


def _openai_frames(raw: str) -> list[dict[str, Any]]:
    return [
        json.loads(line[6:])
        for line in raw.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


def _openai_error(frames: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [f["error"] for f in frames if "error" in f]
    assert len(errors) == 1, frames
    assert "error" in frames[-1]  # it ends the stream
    error: dict[str, Any] = errors[0]
    assert isinstance(error["message"], str)
    assert error["message"]
    return {**error, "message": ""}


async def _keyed_user(
    client: httpx.AsyncClient, fake: FakeUpstream, secret: str, provider: str
) -> Account:
    user = await make_user(client)
    await add_key(client, user, fake, secret, provider)
    fake.script(secret, [DROP])
    return user


async def test_chat_completions_pass_through_ends_with_the_openai_error(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    user = await _keyed_user(client, fake_upstream, "sk-se-oai", "openai")
    response = await client.post(
        "/v1/chat/completions",
        json={
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "go"}],
        },
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert _openai_error(_openai_frames(response.text)) == OPENAI_ERROR


async def test_chat_completions_translated_ends_with_the_same_openai_error(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    user = await _keyed_user(client, fake_upstream, "sk-se-ant", "anthropic")
    response = await client.post(
        "/v1/chat/completions",
        json={
            "model": "claude-haiku-4-5",
            "stream": True,
            "messages": [{"role": "user", "content": "go"}],
        },
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    frames = _openai_frames(response.text)
    assert frames[0]["object"] == "chat.completion.chunk"
    assert _openai_error(frames) == OPENAI_ERROR


async def test_seed_004_chat_ends_with_the_openai_error_then_done(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    user = await _keyed_user(client, fake_upstream, "sk-se-004", "openai")
    response = await client.post(
        "/api/chat", json={"message": "go", "stream": True}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    chunks, done = parse_chunks(response.text)
    assert done
    assert _openai_error(chunks) == OPENAI_ERROR


async def test_messages_pass_through_and_translated_end_with_the_same_event(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    user = await make_user(client)
    await add_key(client, user, fake_upstream, "sk-se-ant2", "anthropic")
    await add_key(client, user, fake_upstream, "sk-se-oai2", "openai")
    fake_upstream.script("sk-se-ant2", [DROP])
    fake_upstream.script("sk-se-oai2", [DROP])
    shapes = []
    for model in ("claude-haiku-4-5", "gpt-4o-mini"):
        response = await client.post(
            "/v1/messages",
            json={
                "model": model,
                "max_tokens": 50,
                "stream": True,
                "messages": [{"role": "user", "content": "go"}],
            },
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        name, data = sse_events(response.text)[-1]
        assert name == "error"
        assert data["error"]["message"]
        shapes.append({**data, "error": {**data["error"], "message": ""}})
    expected = {"type": "error", "error": {"type": "api_error", "message": ""}}
    assert shapes == [expected, expected]


async def test_hub_thread_stream_ends_with_the_hub_error_frame(
    client: httpx.AsyncClient, fake_upstream: FakeUpstream
) -> None:
    user = await _keyed_user(client, fake_upstream, "sk-se-hub", "openai")
    thread = await make_thread(client, user)
    response = await client.post(
        f"/api/threads/{thread['id']}/stream",
        json={"content": "go"},
        headers=user.headers,
    )
    frames = parse_sse(response.text)
    assert [f[0] for f in frames][-2:] == ["error", "done"]
    error = frames[-2][1]
    assert set(error) == {"error", "error_message", "error_type"}
    assert (error["error"], error["error_type"]) == (True, "api_error")
    assert frames[-2][2] == frames[-1][2] - 1  # numbered like every frame
    # re-attaching after the end replays the same frame
    again = await client.get(
        f"/api/threads/{thread['id']}/stream", headers=user.headers
    )
    assert again.status_code == 200, again.text
    replayed = [f for f in parse_sse(again.text) if f[0] == "error"]
    assert [f[1] for f in replayed] == [error]
