"""Anthropic's Messages API on the wire, both ways, with no HTTP.

Request: the system prompt (and any system message) in ``system``; text and
image parts as content blocks (a ``data:`` URL as a base64 source, any other URL
as a url source); an assistant's tool calls as ``tool_use`` blocks; tool
results as ``tool_result`` blocks in a user turn; consecutive turns of one role
merged; OpenAI function tools as ``input_schema`` tools; ``max_tokens``
required (DEFAULT_MAX_TOKENS when unset).

Usage is normalized to OpenAI's convention: Anthropic's ``input_tokens``
excludes the cache, so prompt_tokens = input + cache_read + cache_creation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    Completion,
    Finish,
    FinishReason,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from aihub.providers.errors import (
    UpstreamUnavailable,
    error_from_event,
    reads_upstream_json,
)

DEFAULT_MAX_TOKENS = 4096
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_EXTRA_KEYS = frozenset(
    {"top_k", "thinking", "metadata", "service_tier", "container", "mcp_servers"}
)
_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


def finish_reason(value: Any) -> FinishReason:
    return _FINISH.get(value, "stop") if isinstance(value, str) else "stop"


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def usage_from_anthropic(usage: Mapping[str, Any]) -> Usage:
    read = _int(usage.get("cache_read_input_tokens"))
    write = _int(usage.get("cache_creation_input_tokens"))
    prompt = _int(usage.get("input_tokens")) + read + write
    completion = _int(usage.get("output_tokens"))
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=read,
        cache_write_tokens=write,
        total_tokens=prompt + completion,
    )


def image_block(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media_type, data = url[5:].split(";base64,", 1)
        source = {"type": "base64", "media_type": media_type or "image/png"}
        return {"type": "image", "source": {**source, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _part_block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        return {"type": "text", "text": text} if text else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return image_block(url) if isinstance(url, str) else None
    if kind == "image" and isinstance(part.get("image"), str):
        return image_block(part["image"])
    return dict(part)  # already an Anthropic block (document, image source...)


def content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, list):
        blocks = (_part_block(p) for p in content if isinstance(p, Mapping))
        return [b for b in blocks if b is not None]
    return []


def _arguments(raw: str) -> Any:
    try:
        value = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {"arguments": raw}
    return value if isinstance(value, dict) else {"value": value}


def _turn(message: ChatMessage) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "tool":
        result: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id or "",
            "content": content_blocks(message.content),
        }
        return "user", [result]
    blocks = content_blocks(message.content)
    for call in message.tool_calls or ():
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": _arguments(call.arguments),
            }
        )
    return message.role, blocks


def _text(content: Any) -> str:
    blocks = content_blocks(content)
    return "\n".join(b["text"] for b in blocks if b.get("type") == "text")


def encode_messages(request: ChatRequest) -> tuple[list[dict[str, Any]], list[str]]:
    """(messages, system texts) with same-role turns merged."""
    system = [request.system] if request.system else []
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role == "system":
            system.append(_text(message.content))
            continue
        role, blocks = _turn(message)
        if not blocks:
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    return messages, system


def encode_tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, Mapping):
        return dict(tool)  # an Anthropic tool already (or a server tool)
    out: dict[str, Any] = {
        "name": function.get("name"),
        "input_schema": function.get("parameters")
        or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def encode_tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice == "auto":
        return {"type": "auto"}
    if choice == "required":
        return {"type": "any"}
    if choice == "none":
        return {"type": "none"}
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and function.get("name"):
            return {"type": "tool", "name": function["name"]}
        return dict(choice)
    return None


def encode_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    messages, system = encode_messages(request)
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if system:
        body["system"] = "\n\n".join(system)
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop:
        body["stop_sequences"] = (
            [request.stop] if isinstance(request.stop, str) else list(request.stop)
        )
    if request.tools:
        body["tools"] = [encode_tool(t) for t in request.tools]
    choice = encode_tool_choice(request.tool_choice)
    if choice is not None and (request.tools or choice["type"] == "none"):
        body["tool_choice"] = choice
    if request.user:
        body["metadata"] = {"user_id": request.user}
    body.update({k: v for k, v in request.extra.items() if k in _EXTRA_KEYS})
    if stream:
        body["stream"] = True
    return body


@reads_upstream_json
def parse_completion(data: dict[str, Any], *, model: str) -> Completion:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in data.get("content") or ():
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            texts.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            calls.append(
                ToolCall(
                    id=str(block.get("id") or ""),
                    name=str(block.get("name") or ""),
                    arguments=orjson.dumps(block.get("input") or {}).decode(),
                )
            )
    usage = data.get("usage")
    return Completion(
        text="".join(texts),
        tool_calls=calls,
        usage=usage_from_anthropic(usage) if isinstance(usage, dict) else None,
        finish_reason=finish_reason(data.get("stop_reason")),
        model=str(data.get("model") or model),
        raw=data,
    )


class StreamDecoder:
    """Anthropic's stream events (message_start, content_block_*, message_delta,
    message_stop, ping, error) as normalized events. Tool calls are numbered
    among tool_use blocks only, as OpenAI numbers them."""

    __slots__ = ("done", "model", "secret", "stop_reason", "tools", "usage")

    def __init__(self, *, secret: str | None = None) -> None:
        self.done = False
        self.model: str | None = None
        self.secret = secret
        self.stop_reason: Any = None
        self.tools: dict[int, int] = {}
        self.usage: dict[str, int] = {}

    def _merge_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            for key in _USAGE_KEYS:
                value = usage.get(key)
                if isinstance(value, int):
                    self.usage[key] = value

    @reads_upstream_json
    def feed(self, data: bytes) -> list[StreamEvent]:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UpstreamUnavailable("Upstream sent a malformed stream event") from exc
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "content_block_delta":
            return self._delta(event)
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "message_start":
            message = event.get("message") or {}
            self.model = message.get("model") or self.model
            self._merge_usage(message.get("usage"))
        elif kind == "message_delta":
            self.stop_reason = (event.get("delta") or {}).get("stop_reason")
            self._merge_usage(event.get("usage"))
        elif kind == "message_stop":
            self.done = True
            finish = Finish(finish_reason(self.stop_reason))
            if not any(self.usage.values()):  # none sent: the caller counts it
                return [finish]
            return [finish, UsageReport(usage_from_anthropic(self.usage))]
        elif kind == "error":
            raise error_from_event(event, secret=self.secret)
        return []

    def _block_start(self, event: dict[str, Any]) -> list[StreamEvent]:
        block = event.get("content_block") or {}
        if block.get("type") == "tool_use":
            ordinal = self.tools[_int(event.get("index"))] = len(self.tools)
            return [ToolCallDelta(ordinal, block.get("id"), block.get("name"), "")]
        text = block.get("text") if block.get("type") == "text" else None
        return [TextDelta(text)] if text else []

    def _delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta" and delta.get("text"):
            return [TextDelta(delta["text"])]
        if kind == "input_json_delta":
            ordinal = self.tools.get(_int(event.get("index")))
            if ordinal is not None and delta.get("partial_json"):
                return [ToolCallDelta(ordinal, arguments=delta["partial_json"])]
        return []

    def end(self) -> None:
        if not self.done:
            raise UpstreamUnavailable("Upstream stream ended before message_stop")
