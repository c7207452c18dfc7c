"""What the fake upstream says, in OpenAI's and Anthropic's wire formats: reply
bodies, stream chunks, usage blocks and error bodies. No I/O here (upstream.py
serves them)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class FakeUsage:
    """Usage in OpenAI's convention (prompt includes cache reads and writes).

    ``None`` figures are estimated: prompt = words of every message + system,
    completion = words of the reply (at least 1 each). Anthropic's wire gets
    input_tokens = prompt - cached - cache_write, as Anthropic reports it."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass
class ToolCallSpec:
    """A tool call the fake model makes (OpenAI tool_calls / Anthropic tool_use)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass
class Figures:
    prompt: int
    completion: int
    cached: int
    reasoning: int
    cache_write: int


def words(text: str) -> int:
    return len(text.split())


def split_text(text: str, pieces: int) -> list[str]:
    """``text`` in at most ``pieces`` consecutive, non-empty parts."""
    if not text:
        return []
    pieces = max(1, min(pieces, len(text)))
    size, rest = divmod(len(text), pieces)
    out, at = [], 0
    for i in range(pieces):
        end = at + size + (1 if i < rest else 0)
        out.append(text[at:end])
        at = end
    return out


def sse(data: Any, event: str | None = None) -> bytes:
    payload = data if isinstance(data, bytes) else orjson.dumps(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"


# -- OpenAI -----------------------------------------------------------------


def openai_usage(f: Figures) -> dict[str, Any]:
    return {
        "prompt_tokens": f.prompt,
        "completion_tokens": f.completion,
        "total_tokens": f.prompt + f.completion,
        "prompt_tokens_details": {"cached_tokens": f.cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": f.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_tool_calls(calls: list[ToolCallSpec]) -> list[dict[str, Any]]:
    return [
        {
            "id": call.id or f"call_fake_{i}",
            "type": "function",
            "function": {
                "name": call.name,
                "arguments": orjson.dumps(call.arguments).decode(),
            },
        }
        for i, call in enumerate(calls)
    ]


def openai_completion(
    *,
    rid: str,
    model: str,
    text: str,
    calls: list[ToolCallSpec],
    finish: str,
    figures: Figures,
    n: int,
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not calls else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = openai_tool_calls(calls)
    return {
        "id": rid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            for i in range(max(1, n))
        ],
        "usage": openai_usage(figures),
        "system_fingerprint": "fp_fake",
    }


def openai_chunk(
    rid: str, model: str, delta: dict[str, Any], finish: str | None, usage: bool
) -> dict[str, Any]:
    chunk: dict[str, Any] = {
        "id": rid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        ],
    }
    if usage:
        chunk["usage"] = None  # OpenAI sends null on every chunk but the last
    return chunk


def openai_tool_chunks(calls: list[ToolCallSpec]) -> list[dict[str, Any]]:
    """Deltas of each call: id and name first, then the arguments in two parts."""
    deltas: list[dict[str, Any]] = []
    for i, call in enumerate(openai_tool_calls(calls)):
        head = {
            "index": i,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        deltas.append({"tool_calls": [head]})
        for part in split_text(call["function"]["arguments"], 2):
            deltas.append(
                {"tool_calls": [{"index": i, "function": {"arguments": part}}]}
            )
    return deltas


def openai_error(status: int, code: str | None, message: str | None, key: str) -> Any:
    kind, default_code, text = {
        400: ("invalid_request_error", None, "Invalid request"),
        401: (
            "invalid_request_error",
            "invalid_api_key",
            f"Incorrect API key provided: {key}.",
        ),
        402: ("billing_error", "payment_required", "Payment required"),
        403: ("permission_error", "unsupported_country_region_territory", "Forbidden"),
        404: ("invalid_request_error", "model_not_found", "The model does not exist"),
        429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests"),
        500: ("server_error", None, "The server had an error processing your request"),
        503: ("server_error", None, "The engine is currently overloaded"),
    }.get(
        status,
        ("server_error" if status >= 500 else "invalid_request_error", None, "Error"),
    )
    if code == "insufficient_quota":
        kind, text = (
            "insufficient_quota",
            (
                "You exceeded your current quota, please check your plan and "
                "billing details."
            ),
        )
    elif code == "context_length_exceeded":
        text = (
            "This model's maximum context length is 128000 tokens. However, your "
            "messages resulted in 131000 tokens. Please reduce the length of the "
            "messages."
        )
    return {
        "error": {
            "message": message or text,
            "type": kind,
            "param": "messages" if code == "context_length_exceeded" else None,
            "code": code or default_code,
        }
    }


# -- Anthropic --------------------------------------------------------------


def anthropic_usage(f: Figures, *, output: int | None = None) -> dict[str, Any]:
    return {
        "input_tokens": max(0, f.prompt - f.cached - f.cache_write),
        "cache_creation_input_tokens": f.cache_write,
        "cache_read_input_tokens": f.cached,
        "output_tokens": f.completion if output is None else output,
    }


def anthropic_stop(finish: str) -> str:
    return {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}.get(
        finish, finish
    )


def anthropic_message(
    *,
    rid: str,
    model: str,
    text: str,
    calls: list[ToolCallSpec],
    finish: str,
    figures: Figures,
) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    for i, call in enumerate(calls):
        content.append(
            {
                "type": "tool_use",
                "id": call.id or f"toolu_fake_{i}",
                "name": call.name,
                "input": call.arguments,
            }
        )
    return {
        "id": rid,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": anthropic_stop(finish),
        "stop_sequence": None,
        "usage": anthropic_usage(figures),
    }


def anthropic_error(status: int, code: str | None, message: str | None) -> Any:
    kind, text = {
        400: ("invalid_request_error", "Invalid request"),
        401: ("authentication_error", "invalid x-api-key"),
        402: ("billing_error", "Payment required"),
        403: ("permission_error", "Your API key does not have permission"),
        404: ("not_found_error", "Not found"),
        413: ("request_too_large", "Request exceeds the maximum allowed size"),
        429: ("rate_limit_error", "Number of requests has exceeded your rate limit"),
        500: ("api_error", "Internal server error"),
        529: ("overloaded_error", "Overloaded"),
    }.get(status, ("api_error", "Error"))
    if code == "context_length_exceeded":
        text = "prompt is too long: 210000 tokens > 200000 maximum"
    elif code == "insufficient_quota":
        text = "Your credit balance is too low to access the Anthropic API."
    elif code:
        kind = code
    return {"type": "error", "error": {"type": kind, "message": message or text}}
