"""The Anthropic Messages adapter against the fake upstream over real sockets."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from aihub.providers.anthropic import AnthropicAdapter
from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    CompletionBuilder,
    Credentials,
    Finish,
    StreamEvent,
    ToolCall,
    Usage,
    UsageReport,
)
from aihub.providers.errors import (
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamQuotaExceeded,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from tests.fakes import FakeUpstream, FakeUsage, Reply, ToolCallSpec
from tests.providers.builders import (
    PNG_DATA_URL,
    WEATHER_PARAMETERS,
    WEATHER_TOOL,
    ask,
    collect,
    creds,
    text_of,
)

adapter = AnthropicAdapter()
MODEL = "claude-sonnet-4-5"
CACHED_USAGE = FakeUsage(
    prompt_tokens=1000, completion_tokens=20, cached_tokens=600, cache_write_tokens=300
)
NORMALIZED = Usage(
    prompt_tokens=1000,
    completion_tokens=20,
    cached_tokens=600,
    cache_write_tokens=300,
    total_tokens=1020,
)


def _ask(text: str = "Hello there", **fields: object) -> ChatRequest:
    return ask(text, model=MODEL, **fields)


class TestComplete:
    async def test_sends_the_messages_api_request(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        request = _ask("Hi", system="Be brief", temperature=0.1, stop="END", user="u1")

        done = await adapter.complete(
            http, creds(fake_upstream, "anthropic", "sk-ant-a"), request
        )

        sent = fake_upstream.last_request
        assert sent.path == "/v1/messages"
        assert sent.headers["x-api-key"] == "sk-ant-a"
        assert sent.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in sent.headers
        assert sent.json == {
            "model": MODEL,
            "max_tokens": 4096,
            "system": "Be brief",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            "temperature": 0.1,
            "stop_sequences": ["END"],
            "metadata": {"user_id": "u1"},
        }
        assert done.text == "echo: Hi"
        assert done.finish_reason == "stop"

    async def test_normalizes_cache_read_and_write_tokens(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-ant", [Reply(text="ok", usage=CACHED_USAGE)])

        done = await adapter.complete(
            http, creds(fake_upstream, "anthropic", "sk-ant"), _ask()
        )

        assert done.usage == NORMALIZED
        assert done.raw["usage"]["input_tokens"] == 100

    async def test_max_tokens_stop_is_length(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-ant", [Reply(text="cut", finish_reason="length")])

        done = await adapter.complete(
            http, creds(fake_upstream, "anthropic", "sk-ant"), _ask(max_tokens=5)
        )

        assert done.finish_reason == "length"
        assert fake_upstream.last_request.json["max_tokens"] == 5

    async def test_system_messages_join_the_system_prompt(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        request = ChatRequest(
            model=MODEL,
            system="First",
            messages=[
                ChatMessage(role="system", content="Second"),
                ChatMessage(role="user", content="Hi"),
                ChatMessage(role="user", content="Again"),
            ],
        )

        await adapter.complete(http, creds(fake_upstream, "anthropic"), request)

        sent = fake_upstream.last_request.json
        assert sent["system"] == "First\n\nSecond"
        assert sent["messages"] == [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hi"},
                    {"type": "text", "text": "Again"},
                ],
            }
        ]

    async def test_sends_images_as_base64_and_url_sources(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        parts: list[dict[str, Any]] = [
            {"type": "text", "text": "Compare"},
            {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.jpg"}},
        ]
        request = ChatRequest(
            model=MODEL, messages=[ChatMessage(role="user", content=parts)]
        )

        await adapter.complete(http, creds(fake_upstream, "anthropic"), request)

        assert fake_upstream.last_request.json["messages"][0]["content"] == [
            {"type": "text", "text": "Compare"},
            {
                "type": "image",
                "source": {
                    "type": "base64",
                    "media_type": "image/png",
                    "data": "iVBORw0KGgo=",
                },
            },
            {
                "type": "image",
                "source": {"type": "url", "url": "https://example.com/a.jpg"},
            },
        ]

    async def test_sends_tools_with_input_schema_and_tool_choice(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        named = {"type": "function", "function": {"name": "get_weather"}}

        await adapter.complete(
            http,
            creds(fake_upstream, "anthropic"),
            _ask(tools=[WEATHER_TOOL], tool_choice=named),
        )

        sent = fake_upstream.last_request.json
        assert sent["tools"] == [
            {
                "name": "get_weather",
                "description": "Weather of a city",
                "input_schema": WEATHER_PARAMETERS,
            }
        ]
        assert sent["tool_choice"] == {"type": "tool", "name": "get_weather"}

    async def test_required_tool_choice_is_any(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        await adapter.complete(
            http,
            creds(fake_upstream, "anthropic"),
            _ask(tools=[WEATHER_TOOL], tool_choice="required"),
        )

        assert fake_upstream.last_request.json["tool_choice"] == {"type": "any"}

    async def test_returns_tool_use_as_tool_calls(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        call = ToolCallSpec("get_weather", {"city": "Paris"}, id="toolu_1")
        fake_upstream.script("sk-ant", [Reply(text="Let me check.", tool_calls=[call])])

        done = await adapter.complete(
            http, creds(fake_upstream, "anthropic", "sk-ant"), _ask()
        )

        assert done.text == "Let me check."
        assert done.tool_calls == [
            ToolCall(id="toolu_1", name="get_weather", arguments='{"city":"Paris"}')
        ]
        assert done.finish_reason == "tool_calls"

    async def test_sends_tool_use_and_tool_results_in_one_user_turn(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        calls = [
            ToolCall(id="toolu_1", name="get_weather", arguments='{"city":"Paris"}'),
            ToolCall(id="toolu_2", name="get_weather", arguments='{"city":"Rome"}'),
        ]
        request = ChatRequest(
            model=MODEL,
            messages=[
                ChatMessage(role="user", content="Paris and Rome?"),
                ChatMessage(role="assistant", content="Checking.", tool_calls=calls),
                ChatMessage(role="tool", content="18C", tool_call_id="toolu_1"),
                ChatMessage(role="tool", content="25C", tool_call_id="toolu_2"),
            ],
            tools=[WEATHER_TOOL],
        )

        await adapter.complete(http, creds(fake_upstream, "anthropic"), request)

        messages = fake_upstream.last_request.json["messages"]
        assert [m["role"] for m in messages] == ["user", "assistant", "user"]
        assert messages[1]["content"] == [
            {"type": "text", "text": "Checking."},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
            {
                "type": "tool_use",
                "id": "toolu_2",
                "name": "get_weather",
                "input": {"city": "Rome"},
            },
        ]
        assert messages[2]["content"] == [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": [{"type": "text", "text": "18C"}],
            },
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": [{"type": "text", "text": "25C"}],
            },
        ]

    async def test_settings_choose_version_beta_and_a_v1_base_url(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        credentials = Credentials(
            api_key="sk-ant",
            base_url=f"{fake_upstream.url}/v1/",
            settings={
                "anthropic_version": "2024-01-01",
                "anthropic_beta": ["a-1", "b-2"],
            },
        )

        await adapter.complete(http, credentials, _ask())

        sent = fake_upstream.last_request
        assert sent.path == "/v1/messages"
        assert sent.headers["anthropic-version"] == "2024-01-01"
        assert sent.headers["anthropic-beta"] == "a-1,b-2"


class TestStream:
    async def test_streams_text_finish_and_cache_usage(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = Reply(text="Hello world", chunks=4, usage=CACHED_USAGE)
        fake_upstream.script("sk-ant", [reply])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "anthropic", "sk-ant"), _ask())
        )

        assert text_of(events) == "Hello world"
        assert events[-2:] == [Finish("stop"), UsageReport(NORMALIZED)]
        assert fake_upstream.last_request.json["stream"] is True

    async def test_streams_tool_use_as_numbered_tool_calls(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        calls = [
            ToolCallSpec("get_weather", {"city": "Paris"}, id="toolu_1"),
            ToolCallSpec("get_weather", {"city": "Rome"}, id="toolu_2"),
        ]
        fake_upstream.script("sk-ant", [Reply(text="Checking.", tool_calls=calls)])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "anthropic", "sk-ant"), _ask())
        )
        builder = CompletionBuilder()
        builder.add_all(events)
        done = builder.build()

        assert done.text == "Checking."
        assert done.tool_calls == [
            ToolCall("toolu_1", "get_weather", '{"city":"Paris"}'),
            ToolCall("toolu_2", "get_weather", '{"city":"Rome"}'),
        ]
        assert done.finish_reason == "tool_calls"

    async def test_error_event_raises_after_the_partial_text(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = Reply(text="partial", chunks=2, stream_error="overloaded_error")
        fake_upstream.script("sk-ant", [reply])
        events: list[StreamEvent] = []

        with pytest.raises(UpstreamUnavailable):
            await collect(
                adapter.stream(
                    http, creds(fake_upstream, "anthropic", "sk-ant"), _ask()
                ),
                into=events,
            )

        assert text_of(events) == "partial"

    async def test_drop_mid_stream_raises_after_the_partial_text(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = Reply(text="abcdefgh", chunks=4, drop_after_chunks=1)
        fake_upstream.script("sk-ant", [reply])
        events: list[StreamEvent] = []

        with pytest.raises(UpstreamUnavailable):
            await collect(
                adapter.stream(
                    http, creds(fake_upstream, "anthropic", "sk-ant"), _ask()
                ),
                into=events,
            )

        assert text_of(events) == "ab"


class TestErrors:
    @pytest.mark.parametrize(
        ("reply", "kind"),
        [
            (Reply(status=529), UpstreamUnavailable),
            (Reply(status=500), UpstreamUnavailable),
            (Reply(status=401), UpstreamAuthFailed),
            (Reply(status=403), UpstreamAuthFailed),
            (Reply(status=402), UpstreamQuotaExceeded),
            (Reply(status=400, error_code="insufficient_quota"), UpstreamQuotaExceeded),
            (Reply(status=429, retry_after=7), UpstreamRateLimited),
        ],
        ids=["529", "500", "401", "403", "402", "400-credit", "429"],
    )
    async def test_status_maps_to_its_error(
        self,
        http: aiohttp.ClientSession,
        fake_upstream: FakeUpstream,
        reply: Reply,
        kind: type[ProviderError],
    ) -> None:
        fake_upstream.script("sk-ant", [reply])

        with pytest.raises(kind) as raised:
            await adapter.complete(
                http, creds(fake_upstream, "anthropic", "sk-ant"), _ask()
            )

        assert raised.value.status == reply.status

    async def test_rate_limit_carries_retry_after(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-ant", [Reply(status=429, retry_after=7)])

        with pytest.raises(UpstreamRateLimited) as raised:
            await collect(
                adapter.stream(
                    http, creds(fake_upstream, "anthropic", "sk-ant"), _ask()
                )
            )

        assert raised.value.retry_after == 7.0

    @pytest.mark.parametrize(
        "reply",
        [Reply(status=400, error_code="context_length_exceeded"), Reply(status=413)],
        ids=["prompt-too-long", "413"],
    )
    async def test_prompt_too_long_is_a_context_error(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream, reply: Reply
    ) -> None:
        fake_upstream.script("sk-ant", [reply])

        with pytest.raises(UpstreamBadRequest) as raised:
            await adapter.complete(
                http, creds(fake_upstream, "anthropic", "sk-ant"), _ask()
            )

        assert raised.value.is_context_error is True
        assert raised.value.error_type == "invalid_context"


class TestModels:
    async def test_lists_models_with_the_api_key_header(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.models = ["claude-sonnet-4-5", "claude-haiku-4-5"]

        models = await adapter.list_models(http, creds(fake_upstream, "anthropic"))

        assert models == ["claude-sonnet-4-5", "claude-haiku-4-5"]
        sent = fake_upstream.last_request
        assert sent.path == "/v1/models"
        assert sent.wire == "anthropic"
