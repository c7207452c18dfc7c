"""OpenAI request bodies into ChatRequests and back (the gateway's translation)."""

from __future__ import annotations

from typing import Any

import pytest

from aihub.providers.base import ChatMessage, ToolCall
from aihub.providers.openai_wire import chat_request_from_openai, encode_body

BODY: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "Be brief"},
        {"role": "developer", "content": "Use metric"},
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "w", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "content": "18C", "tool_call_id": "call_1"},
    ],
    "max_completion_tokens": 100,
    "temperature": 0.5,
    "n": 2,
    "logprobs": True,
    "response_format": {"type": "json_object"},
    "stream": True,
    "stream_options": {"include_usage": False},
    "parallel_tool_calls": False,
}


def test_reads_system_messages_tools_options_and_extra() -> None:
    request = chat_request_from_openai(BODY)

    assert request.model == "gpt-4o"
    assert request.system == "Be brief\n\nUse metric"
    assert request.messages[0] == ChatMessage(
        role="user", content=[{"type": "text", "text": "Weather?"}]
    )
    assert request.messages[1].tool_calls == [ToolCall("call_1", "w", "{}")]
    assert request.messages[2].tool_call_id == "call_1"
    assert request.max_tokens == 100
    assert request.n == 2
    assert request.logprobs is True
    assert request.response_format == {"type": "json_object"}
    assert request.extra == {"parallel_tool_calls": False}


def test_encoding_it_again_keeps_the_conversation() -> None:
    body = encode_body(
        chat_request_from_openai(BODY),
        stream=True,
        max_tokens_field="max_completion_tokens",
    )

    assert body["messages"][0] == {
        "role": "system",
        "content": "Be brief\n\nUse metric",
    }
    assert body["messages"][1:] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        BODY["messages"][3],
        BODY["messages"][4],
    ]
    assert body["stream_options"] == {"include_usage": True}
    assert body["parallel_tool_calls"] is False
    assert body["max_completion_tokens"] == 100


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m"},
        {"model": "m", "messages": "hi"},
        {"model": "m", "messages": [{"role": "wizard", "content": "x"}]},
        {"model": "m", "messages": [{"role": "user", "content": 5}]},
    ],
)
def test_malformed_bodies_raise_value_error(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"message|role"):
        chat_request_from_openai(body)
