"""POST /v1/messages and /v1/messages/count_tokens through the ASGI app, against
the fake upstream: Anthropic models passed through byte for byte, other
providers' models translated both ways; errors in Anthropic's shape."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from aihub.runtime import runtime_of
from aihub.usage.models import RequestLog
from tests.chat.helpers import add_key
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, FakeUsage, Reply, ToolCallSpec

URL = "/v1/messages"
# The fake upstream waits this long before answering: the upstream's time, which
# aihub's x-aihub-overhead-ms must leave out.
UPSTREAM_DELAY_S = 0.2
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "The weather of a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)


def sse_events(raw: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of every frame of an Anthropic stream."""
    events = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        name, data = "", None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if data is not None:
            events.append((name, data))
    return events


async def rows(app: FastAPI) -> list[RequestLog]:
    await runtime_of(app).request_log.flush()
    async with runtime_of(app).sessionmaker() as session:
        found = await session.scalars(select(RequestLog).order_by(RequestLog.id))
        return list(found.all())


def body(model: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Hello there"}],
        **fields,
    }


def assert_anthropic_error(
    response: httpx.Response, status: int, kind: str | None
) -> None:
    """Anthropic's error shape; ``kind`` None: any type (the SDKs pick their
    exception by the status code)."""
    assert response.status_code == status, response.text
    data = response.json()
    assert data["type"] == "error"
    assert isinstance(data["error"]["type"], str)
    if kind is not None:
        assert data["error"]["type"] == kind
    assert data["error"]["message"]


@pytest.fixture
async def user(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


class TestPassThrough:
    async def test_bytes_go_both_ways_untouched(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        key_id = await add_key(client, user, fake_upstream, "sk-ant-1", "anthropic")
        usage = FakeUsage(prompt_tokens=20, completion_tokens=5, cached_tokens=8)
        fake_upstream.script(
            "sk-ant-1", [Reply(text="Hi!", usage=usage, delay=UPSTREAM_DELAY_S)]
        )
        raw = orjson.dumps(
            body("claude-haiku-4-5-20251001", top_k=5, system="Be brief")
        )
        began = time.perf_counter()
        response = await client.post(
            URL,
            content=raw,
            headers={**user.headers, "anthropic-beta": "tools-2024-05-16"},
        )
        elapsed_s = time.perf_counter() - began
        assert response.status_code == 200, response.text
        sent = fake_upstream.last_request
        assert sent.path == "/v1/messages"
        assert sent.body == raw  # the client's bytes, untouched
        assert sent.headers["anthropic-beta"] == "tools-2024-05-16"
        assert sent.headers["x-api-key"] == "sk-ant-1"
        data = response.json()
        assert data["content"] == [{"type": "text", "text": "Hi!"}]
        assert data["usage"]["input_tokens"] == 12
        assert data["usage"]["cache_read_input_tokens"] == 8
        overhead_ms = float(response.headers["x-aihub-overhead-ms"])
        assert 0 < overhead_ms < (elapsed_s - UPSTREAM_DELAY_S) * 1000
        (row,) = await rows(app)
        assert (row.kind, row.provider, row.status) == ("gateway", "anthropic", "ok")
        assert row.provider_key_id == key_id
        assert (row.prompt_tokens, row.completion_tokens) == (20, 5)
        assert row.cached_tokens == 8
        assert row.cost > 0

    async def test_catalog_name_is_sent_as_the_upstream_id(
        self, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-2", "anthropic")
        response = await client.post(
            URL, json=body("claude-3-5-haiku"), headers=user.headers
        )
        assert response.status_code == 200, response.text
        assert fake_upstream.last_request.json["model"] == "claude-3-5-haiku-20241022"
        assert response.json()["content"][0]["text"] == "echo: Hello there"

    async def test_stream_is_relayed_and_accounted(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-3", "anthropic")
        usage = FakeUsage(prompt_tokens=9, completion_tokens=3)
        fake_upstream.script(
            "sk-ant-3", [Reply(text="one two three", chunks=3, usage=usage)]
        )
        response = await client.post(
            URL, json=body("claude-haiku-4-5", stream=True), headers=user.headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "x-aihub-overhead-ms" in response.headers
        events = sse_events(response.text)
        names = [name for name, _ in events]
        assert names[0] == "message_start"
        assert names[-2:] == ["message_delta", "message_stop"]
        text = "".join(
            d["delta"]["text"] for n, d in events if n == "content_block_delta"
        )
        assert text == "one two three"
        (row,) = await rows(app)
        assert (row.prompt_tokens, row.completion_tokens, row.status) == (9, 3, "ok")
        assert row.ttft_ms is not None

    async def test_rate_limited_key_hands_over_to_the_next(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-a", "anthropic")
        second = await add_key(client, user, fake_upstream, "sk-ant-b", "anthropic")
        fake_upstream.script("sk-ant-a", default=Reply(status=429, retry_after=120))
        fake_upstream.script("sk-ant-b", default=Reply(text="from b"))
        for _ in range(2):  # whichever key the pool lends first, b answers
            response = await client.post(
                URL, json=body("claude-haiku-4-5"), headers=user.headers
            )
            assert response.status_code == 200, response.text
            assert response.json()["content"][0]["text"] == "from b"
        assert len(fake_upstream.requests_for("sk-ant-a")) == 1  # then it rests
        assert {row.provider_key_id for row in await rows(app)} == {second}

    async def test_every_key_resting_is_rate_limit_error(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-c", "anthropic")
        fake_upstream.script("sk-ant-c", default=Reply(status=429, retry_after=120))
        response = await client.post(
            URL, json=body("claude-haiku-4-5"), headers=user.headers
        )
        assert_anthropic_error(response, 429, "rate_limit_error")
        assert "retry-after" in response.headers
        (row,) = await rows(app)
        assert (row.status, row.error_type) == ("error", "rate_limit")

    async def test_upstream_rejection_is_anthropic_shaped(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-4", "anthropic")
        fake_upstream.script("sk-ant-4", [Reply(status=400)])
        response = await client.post(
            URL, json=body("claude-haiku-4-5"), headers=user.headers
        )
        assert_anthropic_error(response, 400, None)
        (row,) = await rows(app)
        assert row.status == "error"

    async def test_upstream_drop_mid_stream_ends_with_an_error_event(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-ant-5", "anthropic")
        fake_upstream.script(
            "sk-ant-5", [Reply(text="a b c d", chunks=4, drop_after_chunks=2)]
        )
        response = await client.post(
            URL, json=body("claude-haiku-4-5", stream=True), headers=user.headers
        )
        assert response.status_code == 200
        events = sse_events(response.text)
        assert events[-1][0] == "error"
        assert events[-1][1]["type"] == "error"
        (row,) = await rows(app)
        assert row.status == "error"


class TestTranslated:
    async def test_openai_model_answers_in_anthropic_format(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        key_id = await add_key(client, user, fake_upstream, "sk-oa-1")
        usage = FakeUsage(prompt_tokens=30, completion_tokens=4, cached_tokens=10)
        fake_upstream.script(
            "sk-oa-1", [Reply(text="Bonjour", usage=usage, delay=UPSTREAM_DELAY_S)]
        )
        request = body(
            "gpt-4o-mini",
            system=[{"type": "text", "text": "Speak French"}],
            temperature=0.5,
            stop_sequences=["END"],
        )
        began = time.perf_counter()
        response = await client.post(URL, json=request, headers=user.headers)
        elapsed_s = time.perf_counter() - began
        assert response.status_code == 200, response.text
        sent = fake_upstream.last_request
        assert sent.path == "/v1/chat/completions"
        assert sent.json["messages"] == [
            {"role": "system", "content": "Speak French"},
            {"role": "user", "content": "Hello there"},
        ]
        limit = sent.json.get("max_completion_tokens", sent.json.get("max_tokens"))
        assert limit == 256
        assert sent.json["stop"] == ["END"]
        assert sent.json["temperature"] == 0.5
        data = response.json()
        assert data["type"] == "message"
        assert data["role"] == "assistant"
        assert data["id"].startswith("msg_")
        assert data["content"] == [{"type": "text", "text": "Bonjour"}]
        assert data["stop_reason"] == "end_turn"
        assert data["usage"] == {
            "input_tokens": 20,
            "output_tokens": 4,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 10,
        }
        overhead_ms = float(response.headers["x-aihub-overhead-ms"])
        assert 0 < overhead_ms < (elapsed_s - UPSTREAM_DELAY_S) * 1000
        (row,) = await rows(app)
        assert (row.provider, row.model, row.kind) == (
            "openai",
            "gpt-4o-mini",
            "gateway",
        )
        assert (row.prompt_tokens, row.cached_tokens) == (30, 10)
        assert row.provider_key_id == key_id
        assert row.cost > 0

    async def test_tools_images_and_tool_results(
        self, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-2")
        call = ToolCallSpec("get_weather", {"city": "Paris"}, id="call_9")
        fake_upstream.script("sk-oa-2", [Reply(tool_calls=[call])])
        messages = [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Weather here?"},
                    {
                        "type": "image",
                        "source": {
                            "type": "base64",
                            "media_type": "image/png",
                            "data": PIXEL,
                        },
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://x.test/a.png"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Lyon"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": "Sunny",
                    },
                    {"type": "text", "text": "And Paris?"},
                ],
            },
        ]
        request = body(
            "gpt-4o-mini",
            messages=messages,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "tool", "name": "get_weather"},
        )
        response = await client.post(URL, json=request, headers=user.headers)
        assert response.status_code == 200, response.text
        sent = fake_upstream.last_request.json
        assert sent["messages"][0]["content"][1] == {
            "type": "image_url",
            "image_url": {"url": f"data:image/png;base64,{PIXEL}"},
        }
        assert sent["messages"][0]["content"][2]["image_url"]["url"] == (
            "https://x.test/a.png"
        )
        assert sent["messages"][1]["tool_calls"] == [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Lyon"}'},
            }
        ]
        assert sent["messages"][2] == {
            "role": "tool",
            "content": "Sunny",
            "tool_call_id": "toolu_1",
        }
        assert sent["messages"][3] == {"role": "user", "content": "And Paris?"}
        assert sent["tools"] == [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": WEATHER_TOOL["input_schema"],
                    "description": "The weather of a city",
                },
            }
        ]
        assert sent["tool_choice"] == {
            "type": "function",
            "function": {"name": "get_weather"},
        }
        data = response.json()
        assert data["stop_reason"] == "tool_use"
        assert data["content"] == [
            {
                "type": "tool_use",
                "id": "call_9",
                "name": "get_weather",
                "input": {"city": "Paris"},
            }
        ]

    async def test_stream_in_anthropic_events(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-3")
        usage = FakeUsage(prompt_tokens=7, completion_tokens=3)
        fake_upstream.script(
            "sk-oa-3", [Reply(text="one two three", chunks=3, usage=usage)]
        )
        response = await client.post(
            URL, json=body("gpt-4o-mini", stream=True), headers=user.headers
        )
        assert response.status_code == 200, response.text
        assert fake_upstream.last_request.json["stream_options"] == {
            "include_usage": True
        }
        events = sse_events(response.text)
        names = [name for name, _ in events]
        assert names == [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
        assert all(data["type"] == name for name, data in events)
        start = events[0][1]["message"]
        assert (start["role"], start["content"]) == ("assistant", [])
        text = "".join(
            d["delta"]["text"] for n, d in events if n == "content_block_delta"
        )
        assert text == "one two three"
        delta = events[-2][1]
        assert delta["delta"]["stop_reason"] == "end_turn"
        assert delta["usage"]["output_tokens"] == 3
        assert delta["usage"]["input_tokens"] == 7
        (row,) = await rows(app)
        assert (row.prompt_tokens, row.completion_tokens, row.status) == (7, 3, "ok")

    async def test_stream_with_tool_calls(
        self, client: httpx.AsyncClient, user: Account, fake_upstream: FakeUpstream
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-4")
        calls = [
            ToolCallSpec("get_weather", {"city": "Paris"}, id="call_a"),
            ToolCallSpec("get_weather", {"city": "Rome"}, id="call_b"),
        ]
        fake_upstream.script("sk-oa-4", [Reply(text="Looking", tool_calls=calls)])
        request = body("gpt-4o-mini", stream=True, tools=[WEATHER_TOOL])
        response = await client.post(URL, json=request, headers=user.headers)
        assert response.status_code == 200, response.text
        events = sse_events(response.text)
        starts = [d for n, d in events if n == "content_block_start"]
        assert [s["content_block"]["type"] for s in starts] == [
            "text",
            "tool_use",
            "tool_use",
        ]
        assert [s["index"] for s in starts] == [0, 1, 2]
        assert starts[1]["content_block"]["id"] == "call_a"
        assert starts[2]["content_block"]["name"] == "get_weather"
        for index, city in ((1, "Paris"), (2, "Rome")):
            parts = [
                d["delta"]["partial_json"]
                for n, d in events
                if n == "content_block_delta" and d["index"] == index
            ]
            assert json.loads("".join(parts)) == {"city": city}
        stops = [d["index"] for n, d in events if n == "content_block_stop"]
        assert stops == [0, 1, 2]
        assert events[-2][1]["delta"]["stop_reason"] == "tool_use"

    async def test_failure_before_the_first_event_is_an_error_status(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-5")
        fake_upstream.script("sk-oa-5", [Reply(status=400)])
        response = await client.post(
            URL, json=body("gpt-4o-mini", stream=True), headers=user.headers
        )
        assert_anthropic_error(response, 400, None)
        (row,) = await rows(app)
        assert (row.status, row.provider) == ("error", "openai")

    async def test_drop_mid_stream_ends_with_an_error_event(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-6")
        fake_upstream.script(
            "sk-oa-6", [Reply(text="a b c d", chunks=4, drop_after_chunks=2)]
        )
        response = await client.post(
            URL, json=body("gpt-4o-mini", stream=True), headers=user.headers
        )
        assert response.status_code == 200
        events = sse_events(response.text)
        assert [n for n, _ in events][:3] == [
            "message_start",
            "ping",
            "content_block_start",
        ]
        assert events[-1][0] == "error"
        assert events[-1][1]["error"]["type"] == "api_error"
        assert "message_stop" not in [n for n, _ in events]
        (row,) = await rows(app)
        assert row.status == "error"

    async def test_missing_usage_is_counted_here(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(client, user, fake_upstream, "sk-oa-7")
        fake_upstream.script(
            "sk-oa-7", [Reply(text="counted here", stream_usage=False)]
        )
        response = await client.post(
            URL, json=body("gpt-4o-mini", stream=True), headers=user.headers
        )
        events = sse_events(response.text)
        assert events[-2][1]["usage"]["output_tokens"] > 0
        (row,) = await rows(app)
        assert row.prompt_tokens > 0
        assert row.completion_tokens > 0
