"""The normalized types: credentials, folding stream events."""

from __future__ import annotations

from aihub.providers.base import (
    CompletionBuilder,
    Credentials,
    Finish,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)


def test_credentials_never_show_the_key() -> None:
    credentials = Credentials(api_key="sk-very-secret", base_url="http://x")

    assert "sk-very-secret" not in repr(credentials)
    assert "sk-very-secret" not in str(credentials)


class TestCompletionBuilder:
    def test_folds_text_tool_calls_finish_and_usage(self) -> None:
        usage = Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)
        builder = CompletionBuilder(model="m")
        builder.add_all(
            [
                TextDelta("Hel"),
                TextDelta("lo"),
                ToolCallDelta(0, "call_1", "f", ""),
                ToolCallDelta(1, "call_2", "g", '{"b":'),
                ToolCallDelta(0, arguments='{"a":1}'),
                ToolCallDelta(1, arguments="2}"),
                Finish("tool_calls"),
                UsageReport(usage),
            ]
        )

        done = builder.build()

        assert done.text == "Hello"
        assert done.tool_calls == [
            ToolCall("call_1", "f", '{"a":1}'),
            ToolCall("call_2", "g", '{"b":2}'),
        ]
        assert done.finish_reason == "tool_calls"
        assert done.usage == usage
        assert done.model == "m"

    def test_keeps_partial_text_without_finish_or_usage(self) -> None:
        builder = CompletionBuilder()
        builder.add(TextDelta("partial"))

        done = builder.build()

        assert builder.text == "partial"
        assert done.usage is None
        assert done.finish_reason == "stop"
