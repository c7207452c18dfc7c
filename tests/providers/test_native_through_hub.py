"""Gemini and Bedrock end to end: a user's key added through the API, the hub's
/send and /stream, the gateway's /v1/chat/completions (streaming and not) with
usage and cost recorded, tool calls, error mapping and the key pool on 429."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.db import build_engine
from aihub.runtime import runtime_of
from aihub.usage.models import RequestLog
from tests.chat.helpers import get_thread, make_thread, stream
from tests.factories import Account, make_user
from tests.fakes import FakeUsage, Reply, ToolCallSpec
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.cloud import ThreadedFake
from tests.fakes.gemini import FakeGemini

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@dataclass
class Backend:
    provider: str
    model: str
    fake: ThreadedFake
    add: Callable[[str], dict[str, Any]]
    """A key name -> the POST /api/api-keys/ body (registering it upstream)."""
    script_key: Callable[[str], str]
    """A key name -> the key the stand-in scripts replies by."""


@pytest.fixture(params=["gemini", "bedrock"])
def backend(
    request: pytest.FixtureRequest, fake_gemini: FakeGemini, fake_bedrock: FakeBedrock
) -> Backend:
    if request.param == "gemini":
        return Backend(
            "gemini",
            "gemini-2.5-flash",
            fake_gemini,
            lambda name: {
                "provider": "gemini",
                "api_key": f"gm-{name}",
                "base_url": fake_gemini.base_url,
            },
            lambda name: f"gm-{name}",
        )

    def bedrock_key(name: str) -> dict[str, Any]:
        access = f"AKIA{name.upper()}"
        secret = f"secret/{name}+X"
        return {
            "provider": "bedrock",
            "api_key": fake_bedrock.register(access, secret),
            "base_url": fake_bedrock.url,
            "settings": {"region": "us-west-2"},
        }

    return Backend(
        "bedrock",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        fake_bedrock,
        bedrock_key,
        lambda name: f"AKIA{name.upper()}",
    )


async def _add_key(
    client: httpx.AsyncClient, user: Account, body: dict[str, Any]
) -> int:
    response = await client.post(
        "/api/api-keys/", json={**body, "name": "k"}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    shown = response.json()
    assert body["api_key"] not in response.text  # masked
    assert shown["provider"] == body["provider"]
    key_id: int = shown["id"]
    return key_id


async def _logs(app: FastAPI, count: int) -> list[RequestLog]:
    engine = build_engine(runtime_of(app).settings.database_url)
    try:
        for _ in range(100):
            async with AsyncSession(engine) as session:
                rows = list((await session.scalars(select(RequestLog))).all())
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError(f"expected {count} request log rows")


def _sse_data(text: str) -> list[Any]:
    out = []
    for line in text.splitlines():
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(json.loads(line[6:]))
    return out


class TestHub:
    async def test_send_and_stream(
        self, client: httpx.AsyncClient, backend: Backend
    ) -> None:
        user = await make_user(client)
        await _add_key(client, user, backend.add("hub"))
        key = backend.script_key("hub")
        backend.fake.script(
            key,
            [
                Reply(
                    text="Hello from the cloud",
                    usage=FakeUsage(prompt_tokens=1000, completion_tokens=500),
                ),
                Reply(text="one two three", chunks=3),
            ],
        )
        thread = await make_thread(
            client,
            user,
            provider=backend.provider,
            model=backend.model,
            system_prompt="Be brief",
        )
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Hi!"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["content"] == "Hello from the cloud"
        assert (answer["provider"], answer["model"]) == (
            backend.provider,
            backend.model,
        )
        tokens = answer["meta_data"]["tokens"]
        assert (tokens["prompt_tokens"], tokens["completion_tokens"]) == (1000, 500)
        assert answer["meta_data"]["cost"] > 0
        first = backend.fake.last_request.json
        # the system prompt went where the provider wants it, not as a message
        assert "Be brief" in json.dumps(
            first.get("systemInstruction") or first.get("system")
        )
        frames = await stream(
            client, f"/api/threads/{thread['id']}/stream", user, {"content": "Count"}
        )
        assert frames[0][0] == "start"
        assert frames[-1][0] == "done"
        text = "".join(f[1]["content"] for f in frames if f[0] == "delta")
        assert text == "one two three"
        second = backend.fake.last_request.json
        history = second.get("contents") or second.get("messages")
        assert len(history) == 3  # Hi!, the answer, Count
        detail = await get_thread(client, user, thread["id"])
        assert detail["messages"][-1]["content"] == "one two three"


class TestGateway:
    async def test_chat_completions_with_usage_and_cost(
        self, client: httpx.AsyncClient, app: FastAPI, backend: Backend
    ) -> None:
        user = await make_user(client)
        key_id = await _add_key(client, user, backend.add("gw"))
        key = backend.script_key("gw")
        usage = FakeUsage(prompt_tokens=2000, completion_tokens=100)
        backend.fake.script(
            key,
            [Reply(text="plain answer", usage=usage), Reply(text="a b c", usage=usage)],
        )
        body = {"model": backend.model, "messages": [{"role": "user", "content": "Hi"}]}
        response = await client.post(
            "/v1/chat/completions", json=body, headers=user.headers
        )
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["object"] == "chat.completion"
        assert data["choices"][0]["message"]["content"] == "plain answer"
        assert data["choices"][0]["finish_reason"] == "stop"
        assert data["usage"]["prompt_tokens"] == 2000
        assert data["usage"]["completion_tokens"] == 100
        streamed = await client.post(
            "/v1/chat/completions",
            json={**body, "stream": True, "stream_options": {"include_usage": True}},
            headers=user.headers,
        )
        assert streamed.status_code == 200, streamed.text
        assert streamed.text.rstrip().endswith("data: [DONE]")
        chunks = _sse_data(streamed.text)
        text = "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in chunks
            if c.get("choices")
        )
        assert text == "a b c"
        assert chunks[-1]["usage"]["total_tokens"] == 2100
        rows = [r for r in await _logs(app, 2) if r.provider == backend.provider]
        assert len(rows) == 2
        for row in rows:
            assert row.model == backend.model
            assert row.provider_key_id == key_id
            assert (row.prompt_tokens, row.completion_tokens) == (2000, 100)
            assert row.cost > 0
            assert row.status == "ok"

    async def test_tool_calls_through_the_gateway(
        self, client: httpx.AsyncClient, backend: Backend
    ) -> None:
        user = await make_user(client)
        await _add_key(client, user, backend.add("tools"))
        backend.fake.script(
            backend.script_key("tools"),
            [
                Reply(
                    tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"}, id="c1")]
                )
            ],
        )
        body = {
            "model": backend.model,
            "messages": [{"role": "user", "content": "Weather in Rome?"}],
            "tools": [WEATHER_TOOL],
        }
        response = await client.post(
            "/v1/chat/completions", json=body, headers=user.headers
        )
        assert response.status_code == 200, response.text
        choice = response.json()["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        [call] = choice["message"]["tool_calls"]
        assert call["function"]["name"] == "get_weather"
        assert json.loads(call["function"]["arguments"]) == {"city": "Rome"}
        # the answer goes back as a tool message, in the provider's own shape
        follow = {
            **body,
            "messages": [
                *body["messages"],
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
            ],
        }
        again = await client.post(
            "/v1/chat/completions", json=follow, headers=user.headers
        )
        assert again.status_code == 200, again.text
        sent = json.dumps(backend.fake.last_request.json)
        assert ("functionResponse" in sent) or ("toolResult" in sent)
        assert "sunny" in sent

    async def test_429_rests_the_key_and_the_next_key_answers(
        self, client: httpx.AsyncClient, backend: Backend
    ) -> None:
        user = await make_user(client)
        tired = await _add_key(client, user, backend.add("tired"))
        await _add_key(client, user, backend.add("fresh"))
        backend.fake.script(
            backend.script_key("tired"), default=Reply(status=429, retry_after=600)
        )
        body = {"model": backend.model, "messages": [{"role": "user", "content": "Hi"}]}
        for _ in range(2):  # round-robin: one of the two starts with the tired key
            response = await client.post(
                "/v1/chat/completions", json=body, headers=user.headers
            )
            assert response.status_code == 200, response.text
            assert response.json()["choices"][0]["message"]["content"] == "echo: Hi"
        assert len(backend.fake.requests_for(backend.script_key("tired"))) == 1
        shown = await client.get(f"/api/api-keys/{tired}", headers=user.headers)
        assert shown.json()["status"] == "cooldown"

    async def test_a_rejected_key_is_invalidated_and_reported(
        self, client: httpx.AsyncClient, backend: Backend
    ) -> None:
        user = await make_user(client)
        key_id = await _add_key(client, user, backend.add("bad"))
        rejected = (
            Reply(status=400, error_code="API_KEY_INVALID")
            if backend.provider == "gemini"
            else Reply(status=403, error_code="UnrecognizedClientException")
        )
        backend.fake.script(backend.script_key("bad"), [rejected])
        body = {"model": backend.model, "messages": [{"role": "user", "content": "Hi"}]}
        response = await client.post(
            "/v1/chat/completions", json=body, headers=user.headers
        )
        assert response.status_code >= 400
        assert "error" in response.json()
        shown = await client.get(f"/api/api-keys/{key_id}", headers=user.headers)
        assert shown.json()["status"] == "invalid"


class TestBedrockKeyShape:
    async def test_a_malformed_bedrock_key_is_a_422(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        for body in (
            {"provider": "bedrock", "api_key": "no-colon"},
            {"provider": "bedrock", "api_key": "A:B", "settings": {"region": "moon"}},
        ):
            response = await client.post(
                "/api/api-keys/", json=body, headers=user.headers
            )
            assert response.status_code == 422, response.text


class TestAnthropicDoor:
    async def test_messages_api_is_translated(
        self, client: httpx.AsyncClient, backend: Backend
    ) -> None:
        user = await make_user(client)
        await _add_key(client, user, backend.add("msg"))
        backend.fake.script(
            backend.script_key("msg"),
            [
                Reply(
                    text="Bonjour",
                    usage=FakeUsage(prompt_tokens=40, completion_tokens=2),
                ),
                Reply(text="x y", chunks=2),
            ],
        )
        body = {
            "model": backend.model,
            "max_tokens": 100,
            "system": "Answer in French",
            "messages": [{"role": "user", "content": "Hello"}],
        }
        response = await client.post("/v1/messages", json=body, headers=user.headers)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["type"] == "message"
        assert data["content"] == [{"type": "text", "text": "Bonjour"}]
        assert data["usage"]["input_tokens"] == 40
        assert data["usage"]["output_tokens"] == 2
        sent = json.dumps(backend.fake.last_request.json)
        assert "Answer in French" in sent
        streamed = await client.post(
            "/v1/messages", json={**body, "stream": True}, headers=user.headers
        )
        assert streamed.status_code == 200, streamed.text
        events = _sse_data(streamed.text)
        text = "".join(
            e["delta"].get("text", "")
            for e in events
            if e.get("type") == "content_block_delta"
        )
        assert text == "x y"
        assert events[-1]["type"] == "message_stop"

    async def test_updating_a_bedrock_key_checks_the_new_shape(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        created = await client.post(
            "/api/api-keys/",
            json={"provider": "bedrock", "api_key": "AKIA1:secret"},
            headers=user.headers,
        )
        assert created.status_code == 201, created.text
        url = f"/api/api-keys/{created.json()['id']}"
        for body in (
            {"api_key": "no-colon"},
            {"settings": {"region": "moon"}},
        ):
            response = await client.put(url, json=body, headers=user.headers)
            assert response.status_code == 422, (body, response.text)
        fine = await client.put(
            url, json={"api_key": "AKIA2:other:token"}, headers=user.headers
        )
        assert fine.status_code == 200, fine.text
        other = await client.post(
            "/api/api-keys/",
            json={"provider": "openai", "api_key": "sk-abcdefghijkl"},
            headers=user.headers,
        )
        moved = await client.put(
            f"/api/api-keys/{other.json()['id']}",
            json={"provider": "bedrock"},
            headers=user.headers,
        )
        assert moved.status_code == 422, moved.text
