"""The translation functions on their own: Anthropic Messages requests to
ChatRequest, normalized answers and events to Anthropic's and OpenAI's JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aihub.core.errors import RateLimitError
from aihub.gateway.translate_anthropic import (
    AnthropicStream,
    MessagesRequestInvalidError,
    completion_to_anthropic,
    error_frame,
    request_from_anthropic,
    tool_input,
    usage_to_anthropic,
)
from aihub.gateway.translate_openai import (
    DONE_FRAME,
    OpenAIChunkStream,
    completion_to_openai,
    event_to_openai_chunk,
    sse_chunk,
    usage_to_openai,
)
from aihub.providers.anthropic_wire import usage_from_anthropic
from aihub.providers.base import (
    ChatMessage,
    Completion,
    Finish,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)

TOOL = {
    "name": "lookup",
    "description": "Look a word up",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
}


def anthropic_body(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "max_tokens": 100, "messages": messages, **fields}


def frames(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        event, data = block.split("\n")
        assert event.startswith("event: ")
        assert data.startswith("data: ")
        out.append((event[7:], json.loads(data[6:])))
    return out


class TestRequestFromAnthropic:
    def test_plain_fields(self) -> None:
        request = request_from_anthropic(
            anthropic_body(
                [{"role": "user", "content": "Hi"}],
                system="Be kind",
                temperature=0.2,
                top_p=0.9,
                top_k=3,
                stop_sequences=["X", "Y"],
                metadata={"user_id": "u-1"},
            )
        )
        assert request.model == "gpt-4o"
        assert request.system == "Be kind"
        assert request.messages == [ChatMessage(role="user", content="Hi")]
        assert (request.max_tokens, request.temperature, request.top_p) == (
            100,
            0.2,
            0.9,
        )
        assert request.stop == ["X", "Y"]
        assert request.user == "u-1"
        assert request.extra == {}  # top_k has no OpenAI equivalent

    def test_model_override_and_system_blocks(self) -> None:
        system = [
            {"type": "text", "text": "One", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Two"},
        ]
        request = request_from_anthropic(
            anthropic_body([{"role": "user", "content": "Hi"}], system=system),
            model="gpt-4o-mini",
        )
        assert request.model == "gpt-4o-mini"
        assert request.system == "One\n\nTwo"

    def test_images_and_documents(self) -> None:
        content = [
            {"type": "text", "text": "Look"},
            {
                "type": "image",
                "source": {
                    "type": "base64",
                    "media_type": "image/jpeg",
                    "data": "QUJD",
                },
            },
            {"type": "image", "source": {"type": "url", "url": "https://a.test/i.png"}},
            {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": "Doc"},
            },
            {
                "type": "document",
                "title": "report.pdf",
                "source": {
                    "type": "base64",
                    "media_type": "application/pdf",
                    "data": "JVBE",
                },
            },
        ]
        request = request_from_anthropic(
            anthropic_body([{"role": "user", "content": content}])
        )
        assert request.messages[0].content == [
            {"type": "text", "text": "Look"},
            {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,QUJD"}},
            {"type": "image_url", "image_url": {"url": "https://a.test/i.png"}},
            {"type": "text", "text": "Doc"},
            {
                "type": "file",
                "file": {
                    "filename": "report.pdf",
                    "file_data": "data:application/pdf;base64,JVBE",
                },
            },
        ]

    def test_tool_use_and_results(self) -> None:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": "Define two words"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": "Looking up"},
                    {
                        "type": "tool_use",
                        "id": "t1",
                        "name": "lookup",
                        "input": {"q": "a"},
                    },
                    {"type": "tool_use", "id": "t2", "name": "lookup", "input": {}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "first"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "is_error": True,
                        "content": [
                            {"type": "text", "text": "not found"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "url",
                                    "url": "https://a.test/e.png",
                                },
                            },
                        ],
                    },
                    {"type": "text", "text": "Thanks"},
                ],
            },
        ]
        request = request_from_anthropic(
            anthropic_body(
                messages,
                tools=[TOOL],
                tool_choice={"type": "any", "disable_parallel_tool_use": True},
            )
        )
        assert request.messages == [
            ChatMessage(role="user", content="Define two words"),
            ChatMessage(
                role="assistant",
                content="Looking up",
                tool_calls=[
                    ToolCall("t1", "lookup", '{"q":"a"}'),
                    ToolCall("t2", "lookup", "{}"),
                ],
            ),
            ChatMessage(role="tool", content="first", tool_call_id="t1"),
            ChatMessage(role="tool", content="Error: not found", tool_call_id="t2"),
            ChatMessage(
                role="user",
                content=[
                    {"type": "image_url", "image_url": {"url": "https://a.test/e.png"}}
                ],
            ),
            ChatMessage(role="user", content="Thanks"),
        ]
        assert request.tools == [
            {
                "type": "function",
                "function": {
                    "name": "lookup",
                    "parameters": TOOL["input_schema"],
                    "description": "Look a word up",
                },
            }
        ]
        assert request.tool_choice == "required"
        assert request.extra == {"parallel_tool_calls": False}

    @pytest.mark.parametrize(
        ("choice", "expected"),
        [
            ({"type": "auto"}, "auto"),
            ({"type": "none"}, "none"),
            (
                {"type": "tool", "name": "lookup"},
                {"type": "function", "function": {"name": "lookup"}},
            ),
        ],
    )
    def test_tool_choices(self, choice: dict[str, Any], expected: Any) -> None:
        request = request_from_anthropic(
            anthropic_body(
                [{"role": "user", "content": "x"}], tools=[TOOL], tool_choice=choice
            )
        )
        assert request.tool_choice == expected
        assert "parallel_tool_calls" not in request.extra

    @pytest.mark.parametrize(
        ("change", "where"),
        [
            ({"messages": []}, "messages"),
            ({"messages": "hi"}, "messages"),
            ({"max_tokens": 0}, "max_tokens"),
            ({"max_tokens": "5"}, "max_tokens"),
            ({"temperature": "hot"}, "temperature"),
            ({"stop_sequences": "END"}, "stop_sequences"),
            ({"system": 5}, "system"),
            ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
            ({"messages": [{"role": "user", "content": 3}]}, "messages.0.content"),
            (
                {"messages": [{"role": "user", "content": [{"type": "audio"}]}]},
                "messages.0.content.0.type",
            ),
            (
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": [{"type": "image", "source": {"type": "file"}}],
                        }
                    ]
                },
                "messages.0.content.0.source.type",
            ),
            (
                {
                    "messages": [
                        {
                            "role": "assistant",
                            "content": [
                                {"type": "tool_use", "id": "t", "name": "n", "input": 1}
                            ],
                        }
                    ]
                },
                "messages.0.content.0.input",
            ),
            ({"tools": [{"name": "t"}]}, "tools.0.input_schema"),
            ({"tools": [{"type": "bash_20250124", "name": "bash"}]}, "tools.0.type"),
            ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ],
    )
    def test_malformed_bodies_name_the_field(
        self, change: dict[str, Any], where: str
    ) -> None:
        request = {**anthropic_body([{"role": "user", "content": "x"}]), **change}
        with pytest.raises(MessagesRequestInvalidError) as caught:
            request_from_anthropic(request)
        assert caught.value.message.startswith(f"{where}:")
        assert caught.value.status_code == 400


class TestAnthropicAnswers:
    def test_completion_with_text_and_tools(self) -> None:
        completion = Completion(
            text="Here",
            tool_calls=[
                ToolCall("call_1", "lookup", '{"q": "x"}'),
                ToolCall("call_2", "lookup", "not json"),
            ],
            usage=Usage(prompt_tokens=50, completion_tokens=7, cached_tokens=20),
            finish_reason="tool_calls",
            model="gpt-4o-2024-08-06",
        )
        message = completion_to_anthropic(completion, model="gpt-4o", message_id="m1")
        assert message == {
            "id": "m1",
            "type": "message",
            "role": "assistant",
            "model": "gpt-4o",
            "content": [
                {"type": "text", "text": "Here"},
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "lookup",
                    "input": {"q": "x"},
                },
                {
                    "type": "tool_use",
                    "id": "call_2",
                    "name": "lookup",
                    "input": {"arguments": "not json"},
                },
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {
                "input_tokens": 30,
                "output_tokens": 7,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 20,
            },
        }

    @pytest.mark.parametrize(
        ("reason", "expected"),
        [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal")],
    )
    def test_stop_reasons(self, reason: Any, expected: str) -> None:
        completion = Completion("", [], None, reason, "m")
        message = completion_to_anthropic(completion, model="m", message_id="x")
        assert message["stop_reason"] == expected
        assert message["content"] == [{"type": "text", "text": ""}]
        assert message["usage"]["input_tokens"] == 0

    def test_usage_round_trip(self) -> None:
        wire = {
            "input_tokens": 10,
            "output_tokens": 4,
            "cache_creation_input_tokens": 3,
            "cache_read_input_tokens": 6,
        }
        usage = usage_from_anthropic(wire)
        assert usage.prompt_tokens == 19
        assert usage_to_anthropic(usage) == wire

    def test_tool_input_shapes(self) -> None:
        assert tool_input("") == {}
        assert tool_input("[1]") == {"value": [1]}
        assert tool_input('{"a": 1}') == {"a": 1}


class TestAnthropicStream:
    def test_text_then_tools(self) -> None:
        stream = AnthropicStream(message_id="m9", model="gpt-4o")
        raw = stream.start()
        for event in (
            TextDelta("Hel"),
            TextDelta(""),
            TextDelta("lo"),
            ToolCallDelta(0, "call_a", "lookup", ""),
            ToolCallDelta(0, arguments='{"q":'),
            ToolCallDelta(0, arguments='"x"}'),
            ToolCallDelta(1, None, "lookup", "{}"),
            Finish("tool_calls"),
            UsageReport(Usage(prompt_tokens=12, completion_tokens=5)),
        ):
            raw += stream.feed(event)
        raw += stream.finish()
        events = frames(raw)
        assert [name for name, _ in events] == [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
        assert all(data["type"] == name for name, data in events)
        assert events[0][1]["message"]["id"] == "m9"
        assert events[2][1] == {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        }
        assert events[6][1]["content_block"] == {
            "type": "tool_use",
            "id": "call_a",
            "name": "lookup",
            "input": {},
        }
        assert events[7][1]["delta"] == {
            "type": "input_json_delta",
            "partial_json": '{"q":',
        }
        assert events[10][1]["index"] == 2
        assert events[10][1]["content_block"]["id"].startswith("toolu_")
        assert events[13][1] == {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {
                "input_tokens": 12,
                "output_tokens": 5,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }

    def test_usage_given_at_finish_fills_a_missing_report(self) -> None:
        stream = AnthropicStream(message_id="m", model="x")
        raw = stream.feed(TextDelta("a")) + stream.finish(Usage(completion_tokens=2))
        delta = frames(raw)[-2][1]
        assert delta["usage"]["output_tokens"] == 2
        assert delta["delta"]["stop_reason"] == "end_turn"

    def test_error_frame(self) -> None:
        ((name, data),) = frames(error_frame(RateLimitError("Slow down")))
        assert name == "error"
        assert data == {
            "type": "error",
            "error": {"type": "rate_limit_error", "message": "Slow down"},
        }


class TestOpenAIAnswers:
    def test_completion_with_tools(self) -> None:
        completion = Completion(
            text="",
            tool_calls=[ToolCall("toolu_1", "lookup", '{"q":"x"}')],
            usage=Usage(
                prompt_tokens=40,
                completion_tokens=9,
                cached_tokens=30,
                cache_write_tokens=5,
                total_tokens=49,
            ),
            finish_reason="tool_calls",
            model="claude-haiku-4-5-20251001",
        )
        body = completion_to_openai(completion, "claude-haiku-4-5", "c1", created=7)
        assert body == {
            "id": "c1",
            "object": "chat.completion",
            "created": 7,
            "model": "claude-haiku-4-5",
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "refusal": None,
                        "tool_calls": [
                            {
                                "id": "toolu_1",
                                "type": "function",
                                "function": {
                                    "name": "lookup",
                                    "arguments": '{"q":"x"}',
                                },
                            }
                        ],
                    },
                    "logprobs": None,
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {
                "prompt_tokens": 40,
                "completion_tokens": 9,
                "total_tokens": 49,
                "prompt_tokens_details": {"cached_tokens": 30, "cache_write_tokens": 5},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }

    def test_text_completion_without_usage(self) -> None:
        completion = Completion("Hi", [], None, "length", "m")
        body = completion_to_openai(completion, "m", "c2")
        assert body["choices"][0]["message"]["content"] == "Hi"
        assert body["choices"][0]["finish_reason"] == "length"
        assert "usage" not in body
        assert isinstance(body["created"], int)

    def test_usage_totals(self) -> None:
        usage = usage_to_openai(Usage(prompt_tokens=3, completion_tokens=2))
        assert usage["total_tokens"] == 5
        assert usage["prompt_tokens_details"] == {"cached_tokens": 0}

    def test_single_events(self) -> None:
        common: Any = {"id": "c", "model": "m", "created": 1}
        text = event_to_openai_chunk(TextDelta("x"), role=True, **common)
        assert text is not None
        assert text["object"] == "chat.completion.chunk"
        assert text["choices"][0]["delta"] == {"role": "assistant", "content": "x"}
        first = event_to_openai_chunk(ToolCallDelta(2, "t", "lookup", ""), **common)
        assert first is not None
        assert first["choices"][0]["delta"] == {
            "tool_calls": [
                {
                    "index": 2,
                    "id": "t",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": ""},
                }
            ]
        }
        more = event_to_openai_chunk(ToolCallDelta(2, arguments="{}"), **common)
        assert more is not None
        assert more["choices"][0]["delta"] == {
            "tool_calls": [{"index": 2, "function": {"arguments": "{}"}}]
        }
        finish = event_to_openai_chunk(Finish("stop"), **common)
        assert finish is not None
        assert finish["choices"][0] == {
            "index": 0,
            "delta": {},
            "logprobs": None,
            "finish_reason": "stop",
        }
        report = UsageReport(Usage(prompt_tokens=1, completion_tokens=1))
        assert event_to_openai_chunk(report, **common) is None
        usage = event_to_openai_chunk(report, include_usage=True, **common)
        assert usage is not None
        assert usage["choices"] == []
        assert usage["usage"]["total_tokens"] == 2
        assert event_to_openai_chunk(TextDelta(""), **common) is None

    def test_chunk_stream(self) -> None:
        stream = OpenAIChunkStream(id="c", model="m", include_usage=True, created=5)
        chunks = []
        for event in (
            TextDelta("Hi"),
            UsageReport(Usage(prompt_tokens=4, completion_tokens=1)),
            Finish("stop"),
        ):
            chunks.extend(stream.feed(event))
        chunks.extend(stream.finish())
        assert [c["choices"][0]["delta"] for c in chunks[:3]] == [
            {"role": "assistant", "content": ""},
            {"content": "Hi"},
            {},
        ]
        assert all(c["usage"] is None for c in chunks[:3])
        assert chunks[3]["choices"] == []
        assert chunks[3]["usage"]["prompt_tokens"] == 4
        frame = sse_chunk(chunks[0])
        assert frame.startswith(b"data: {")
        assert frame.endswith(b"}\n\n")
        assert DONE_FRAME == b"data: [DONE]\n\n"

    def test_chunk_stream_without_usage(self) -> None:
        stream = OpenAIChunkStream(id="c", model="m")
        chunks = stream.feed(Finish("stop"))
        assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, "stop"]
        assert "usage" not in chunks[0]
        assert stream.finish(Usage(prompt_tokens=1)) == []
