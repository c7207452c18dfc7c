"""The OpenAI adapter against the fake upstream over real sockets."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    CompletionBuilder,
    Finish,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from aihub.providers.errors import UpstreamTimeout, UpstreamUnavailable
from aihub.providers.http import Timeouts
from aihub.providers.openai import OpenAIAdapter
from tests.fakes import FakeUpstream, FakeUsage, Reply, ToolCallSpec
from tests.providers.builders import (
    PNG_DATA_URL,
    WEATHER_TOOL,
    ask,
    collect,
    creds,
    text_of,
)

adapter = OpenAIAdapter()


class TestComplete:
    async def test_returns_text_usage_finish_and_model(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        usage = FakeUsage(prompt_tokens=20, completion_tokens=2)
        fake_upstream.script("sk-a", [Reply(text="Hello world", usage=usage)])

        done = await adapter.complete(
            http, creds(fake_upstream, "openai", "sk-a"), ask(model="gpt-4o")
        )

        assert done.text == "Hello world"
        assert done.finish_reason == "stop"
        assert done.model == "gpt-4o"
        assert done.usage == Usage(
            prompt_tokens=20, completion_tokens=2, total_tokens=22, reported=True
        )
        assert done.raw["object"] == "chat.completion"

    async def test_sends_bearer_key_system_first_and_max_completion_tokens(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        request = ask("Hi", system="Be brief", max_tokens=50, temperature=0.2)

        await adapter.complete(http, creds(fake_upstream, "openai", "sk-b"), request)

        sent = fake_upstream.last_request
        assert sent.path == "/v1/chat/completions"
        assert sent.headers["authorization"] == "Bearer sk-b"
        assert sent.json["messages"] == [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": "Hi"},
        ]
        assert sent.json["max_completion_tokens"] == 50
        assert "max_tokens" not in sent.json
        assert sent.json["temperature"] == 0.2
        assert "stream" not in sent.json

    async def test_maps_cached_and_reasoning_tokens(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        usage = FakeUsage(
            prompt_tokens=100,
            completion_tokens=50,
            cached_tokens=60,
            reasoning_tokens=30,
        )
        fake_upstream.script("sk-a", [Reply(text="ok", usage=usage)])

        done = await adapter.complete(
            http, creds(fake_upstream, "openai", "sk-a"), ask()
        )

        assert done.usage == Usage(
            prompt_tokens=100,
            completion_tokens=50,
            cached_tokens=60,
            reasoning_tokens=30,
            total_tokens=150,
        )

    async def test_passes_openai_options_and_extra_through(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        request = ask(
            stop=["END"],
            top_p=0.9,
            seed=7,
            n=2,
            logprobs=True,
            top_logprobs=3,
            user="u-1",
            response_format={"type": "json_object"},
            tools=[WEATHER_TOOL],
            tool_choice="auto",
            extra={"frequency_penalty": 0.5, "reasoning_effort": "low"},
        )

        done = await adapter.complete(http, creds(fake_upstream, "openai"), request)

        body = fake_upstream.last_request.json
        assert body["stop"] == ["END"]
        assert body["top_p"] == 0.9
        assert body["seed"] == 7
        assert body["n"] == 2
        assert body["logprobs"] is True
        assert body["top_logprobs"] == 3
        assert body["user"] == "u-1"
        assert body["response_format"] == {"type": "json_object"}
        assert body["tools"] == [WEATHER_TOOL]
        assert body["tool_choice"] == "auto"
        assert body["frequency_penalty"] == 0.5
        assert body["reasoning_effort"] == "low"
        assert len(done.raw["choices"]) == 2

    async def test_returns_the_tool_calls_of_the_reply(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        call = ToolCallSpec("get_weather", {"city": "Paris"}, id="call_1")
        fake_upstream.script("sk-a", [Reply(tool_calls=[call])])

        done = await adapter.complete(
            http, creds(fake_upstream, "openai", "sk-a"), ask(tools=[WEATHER_TOOL])
        )

        assert done.tool_calls == [
            ToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}')
        ]
        assert done.finish_reason == "tool_calls"
        assert done.text == ""

    async def test_sends_assistant_tool_calls_and_tool_results(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        call = ToolCall(id="call_1", name="get_weather", arguments='{"city":"Paris"}')
        request = ChatRequest(
            model="gpt-4o",
            messages=[
                ChatMessage(role="user", content="Weather in Paris?"),
                ChatMessage(role="assistant", tool_calls=[call]),
                ChatMessage(role="tool", content="18C, sunny", tool_call_id="call_1"),
            ],
            tools=[WEATHER_TOOL],
        )

        await adapter.complete(http, creds(fake_upstream, "openai"), request)

        assert fake_upstream.last_request.json["messages"][1:] == [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "get_weather",
                            "arguments": '{"city":"Paris"}',
                        },
                    }
                ],
            },
            {"role": "tool", "content": "18C, sunny", "tool_call_id": "call_1"},
        ]

    async def test_sends_image_parts_as_image_url(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        parts: list[dict[str, Any]] = [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
            {"type": "image", "image": "https://example.com/cat.png"},
        ]
        request = ChatRequest(
            model="gpt-4o", messages=[ChatMessage(role="user", content=parts)]
        )

        done = await adapter.complete(http, creds(fake_upstream, "openai"), request)

        assert fake_upstream.last_request.json["messages"][0]["content"] == [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        ]
        assert done.text == "echo: What is this?"


class TestStream:
    async def test_streams_text_then_finish_then_usage(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        usage = FakeUsage(prompt_tokens=9, completion_tokens=2)
        fake_upstream.script("sk-a", [Reply(text="Hello world", chunks=5, usage=usage)])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
        )

        deltas = [e for e in events if isinstance(e, TextDelta)]
        assert len(deltas) == 5
        assert text_of(events) == "Hello world"
        assert events[-2:] == [
            Finish("stop"),
            UsageReport(Usage(prompt_tokens=9, completion_tokens=2, total_tokens=11)),
        ]
        sent = fake_upstream.last_request.json
        assert sent["stream"] is True
        assert sent["stream_options"] == {"include_usage": True}

    async def test_streamed_usage_maps_cached_and_reasoning_tokens(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        usage = FakeUsage(
            prompt_tokens=1000,
            completion_tokens=300,
            cached_tokens=800,
            reasoning_tokens=200,
        )
        fake_upstream.script("sk-a", [Reply(text="ok", usage=usage)])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
        )

        reports = [e.usage for e in events if isinstance(e, UsageReport)]
        assert reports == [
            Usage(
                prompt_tokens=1000,
                completion_tokens=300,
                cached_tokens=800,
                reasoning_tokens=200,
                total_tokens=1300,
            )
        ]

    async def test_stream_without_a_usage_block_reports_none(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-a", [Reply(text="ok", stream_usage=False)])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
        )

        assert not any(isinstance(e, UsageReport) for e in events)
        assert events[-1] == Finish("stop")

    async def test_stream_usage_can_be_switched_off_for_old_servers(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        credentials = creds(fake_upstream, "openai", stream_usage=False)

        await collect(adapter.stream(http, credentials, ask()))

        assert "stream_options" not in fake_upstream.last_request.json

    async def test_streams_tool_call_pieces_that_fold_into_calls(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        calls = [
            ToolCallSpec("get_weather", {"city": "Paris"}, id="call_1"),
            ToolCallSpec("get_weather", {"city": "Rome"}, id="call_2"),
        ]
        fake_upstream.script("sk-a", [Reply(tool_calls=calls)])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
        )

        assert ToolCallDelta(0, "call_1", "get_weather", "") in events
        builder = CompletionBuilder()
        builder.add_all(events)
        done = builder.build()
        assert done.tool_calls == [
            ToolCall("call_1", "get_weather", '{"city":"Paris"}'),
            ToolCall("call_2", "get_weather", '{"city":"Rome"}'),
        ]
        assert done.finish_reason == "tool_calls"

    async def test_drop_mid_stream_raises_after_the_partial_deltas(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = Reply(text="abcdefghij", chunks=5, drop_after_chunks=2)
        fake_upstream.script("sk-a", [reply])
        events: list[StreamEvent] = []

        with pytest.raises(UpstreamUnavailable) as raised:
            await collect(
                adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask()),
                into=events,
            )

        assert text_of(events) == "abcd"
        assert raised.value.retryable is True
        assert fake_upstream.last_request.outcome == "dropped"

    async def test_error_event_mid_stream_raises_the_typed_error(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = Reply(text="partial answer", chunks=2, stream_error="server_error")
        fake_upstream.script("sk-a", [reply])
        events: list[StreamEvent] = []

        with pytest.raises(UpstreamUnavailable):
            await collect(
                adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask()),
                into=events,
            )

        assert text_of(events) == "partial answer"

    async def test_silence_longer_than_the_idle_timeout_raises_timeout(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = Reply(text="abcdef", chunks=3, stall_after_chunks=1, stall_s=3.0)
        fake_upstream.script("sk-a", [reply])
        events: list[StreamEvent] = []

        with pytest.raises(UpstreamTimeout):
            await collect(
                adapter.stream(
                    http,
                    creds(fake_upstream, "openai", "sk-a"),
                    ask(),
                    timeouts=Timeouts(idle_s=0.3),
                ),
                into=events,
            )

        assert text_of(events) == "ab"

    async def test_closing_the_stream_early_releases_the_connection(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-a", [Reply(text="abcdefghij", chunks=10)])
        stream = adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())

        first = await anext(stream)
        await stream.aclose()

        assert first == TextDelta("a")
        done = await adapter.complete(
            http, creds(fake_upstream, "openai", "sk-a"), ask()
        )
        assert done.text == "echo: Hello there"


class TestSseParsing:
    async def test_reads_crlf_comments_and_lines_split_across_packets(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        frames = [
            b": keep-alive\r\n\r\n",
            b'data: {"choices":[{"index":0,"delta":{"content":"Hel',
            b'lo"}}]}\r\n\r\ndata: {"choices":[{"index":0,"delta":{"content":" you"},',
            b'"finish_reason":"stop"}]}\n\n',
            b"data: [DONE]\n\n",
        ]
        fake_upstream.script("sk-a", [Reply(raw_stream=frames)])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
        )

        assert events == [TextDelta("Hello"), TextDelta(" you"), Finish("stop")]

    async def test_done_without_a_finish_reason_counts_as_stop(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        frames = [
            b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n',
            b"data: [DONE]\n\n",
        ]
        fake_upstream.script("sk-a", [Reply(raw_stream=frames)])

        events = await collect(
            adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
        )

        assert events == [TextDelta("Hi"), Finish("stop")]

    async def test_a_body_ending_before_finish_and_done_raises(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        frames = [b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n']
        fake_upstream.script("sk-a", [Reply(raw_stream=frames)])

        with pytest.raises(UpstreamUnavailable):
            await collect(
                adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
            )

    async def test_malformed_chunk_raises_unavailable(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-a", [Reply(raw_stream=[b"data: {not json\n\n"])])

        with pytest.raises(UpstreamUnavailable):
            await collect(
                adapter.stream(http, creds(fake_upstream, "openai", "sk-a"), ask())
            )


class TestModelsAndEmbeddings:
    async def test_lists_the_upstream_models(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.models = ["gpt-4o", "gpt-4o-mini"]

        models = await adapter.list_models(http, creds(fake_upstream, "openai"))

        assert models == ["gpt-4o", "gpt-4o-mini"]
        assert fake_upstream.last_request.path == "/v1/models"

    async def test_embeds_inputs_in_order_with_usage(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        result = await adapter.embed(
            http,
            creds(fake_upstream, "openai"),
            model="text-embedding-3-small",
            inputs=["one two", "three"],
            dimensions=4,
        )

        assert len(result.vectors) == 2
        assert all(len(v) == 4 for v in result.vectors)
        assert result.vectors[0] != result.vectors[1]
        assert result.usage is not None
        assert result.usage.prompt_tokens == 3
        assert fake_upstream.last_request.json["dimensions"] == 4
