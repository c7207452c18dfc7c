"""OpenAI Chat Completions on the wire, both ways, with no HTTP: shared by the
openai, azure, qwen and openai_compatible adapters (and the gateway, which
turns an OpenAI-format body into a ChatRequest with ``chat_request_from_openai``).
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
from aihub.providers.sse import DONE

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_OPTIONAL = (
    "temperature",
    "top_p",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "seed",
    "n",
    "logprobs",
    "top_logprobs",
    "user",
)
_NOT_EXTRA = frozenset(
    {"model", "messages", "max_tokens", "max_completion_tokens", "stream"}
) | frozenset(_OPTIONAL)


def finish_reason(value: Any) -> FinishReason:
    return _FINISH.get(value, "stop") if isinstance(value, str) else "stop"


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def usage_from_openai(usage: Mapping[str, Any]) -> Usage:
    """An OpenAI-style usage block (DeepSeek's cache-hit field understood too)."""
    prompt = _int(usage.get("prompt_tokens"))
    completion = _int(usage.get("completion_tokens"))
    prompt_details = _dict(usage.get("prompt_tokens_details"))
    completion_details = _dict(usage.get("completion_tokens_details"))
    cached = _int(prompt_details.get("cached_tokens")) or _int(
        usage.get("prompt_cache_hit_tokens")
    )
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        cache_write_tokens=_int(prompt_details.get("cache_write_tokens")),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
        total_tokens=_int(usage.get("total_tokens")) or prompt + completion,
    )


def encode_part(part: dict[str, Any]) -> dict[str, Any]:
    """Parts pass as they are; seed 004's ``{"type": "image", "image": url}``
    and a bare-string ``image_url`` become OpenAI's image_url part."""
    kind = part.get("type")
    if kind == "image" and isinstance(part.get("image"), str):
        return {"type": "image_url", "image_url": {"url": part["image"]}}
    if kind == "image_url" and isinstance(part.get("image_url"), str):
        return {"type": "image_url", "image_url": {"url": part["image_url"]}}
    return part


def encode_message(message: ChatMessage) -> dict[str, Any]:
    content = message.content
    out: dict[str, Any] = {
        "role": message.role,
        "content": [encode_part(p) for p in content]
        if isinstance(content, list)
        else content,
    }
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    elif content is None:
        out["content"] = ""
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def encode_body(
    request: ChatRequest,
    *,
    stream: bool,
    max_tokens_field: str = "max_tokens",
    stream_usage: bool = True,
) -> dict[str, Any]:
    """The JSON body of POST /chat/completions; ``extra`` merged last, then the
    stream flags (usage always requested unless ``stream_usage`` is False)."""
    messages = [encode_message(m) for m in request.messages]
    if request.system is not None:
        messages.insert(0, {"role": "system", "content": request.system})
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.max_tokens is not None:
        body[max_tokens_field] = request.max_tokens
    for name in _OPTIONAL:
        value = getattr(request, name)
        if value is not None:
            body[name] = value
    body.update(request.extra)
    if stream:
        body["stream"] = True
        if stream_usage:
            options = body.get("stream_options")
            options = dict(options) if isinstance(options, dict) else {}
            options["include_usage"] = True
            body["stream_options"] = options
    else:
        body.pop("stream", None)
        body.pop("stream_options", None)
    return body


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return ""


def _tool_calls(raw: Any) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for item in raw or ():
        if not isinstance(item, dict):
            continue
        function = item.get("function") or {}
        calls.append(
            ToolCall(
                id=str(item.get("id") or ""),
                name=str(function.get("name") or ""),
                arguments=function.get("arguments") or "",
            )
        )
    return calls


@reads_upstream_json
def parse_completion(data: dict[str, Any], *, model: str) -> Completion:
    """A non-streamed reply (choice 0; the whole reply stays in ``raw``)."""
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    usage = data.get("usage")
    return Completion(
        text=_text_of(message.get("content")),
        tool_calls=_tool_calls(message.get("tool_calls")),
        usage=usage_from_openai(usage) if isinstance(usage, dict) else None,
        finish_reason=finish_reason(choice.get("finish_reason")),
        model=str(data.get("model") or model),
        raw=data,
    )


class StreamDecoder:
    """Turns the ``data:`` payloads of one OpenAI stream into events (choice 0)."""

    __slots__ = ("done", "finished", "model", "secret")

    def __init__(self, *, secret: str | None = None) -> None:
        self.done = False
        self.finished = False
        self.model: str | None = None
        self.secret = secret

    @reads_upstream_json
    def feed(self, data: bytes) -> list[StreamEvent]:
        if data == DONE:
            self.done = True
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UpstreamUnavailable("Upstream sent a malformed stream chunk") from exc
        if not isinstance(chunk, dict):
            return []
        if chunk.get("error"):
            raise error_from_event(chunk, secret=self.secret)
        if self.model is None and chunk.get("model"):
            self.model = str(chunk["model"])
        events: list[StreamEvent] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0:
                self._choice(choice, events)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.append(UsageReport(usage_from_openai(usage)))
        return events

    def _choice(self, choice: dict[str, Any], events: list[StreamEvent]) -> None:
        delta = choice.get("delta") or {}
        text = delta.get("content")
        if text:
            events.append(TextDelta(text))
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            events.append(
                ToolCallDelta(
                    index=_int(call.get("index")),
                    id=call.get("id"),
                    name=function.get("name"),
                    arguments=function.get("arguments") or "",
                )
            )
        reason = choice.get("finish_reason")
        if reason:
            self.finished = True
            events.append(Finish(finish_reason(reason)))

    def end(self) -> list[StreamEvent]:
        """At the end of the body: a drop raises, a finish-less [DONE] is a stop."""
        if not self.finished and not self.done:
            raise UpstreamUnavailable("Upstream stream ended before it finished")
        return [] if self.finished else [Finish("stop")]


def _message_from_openai(raw: Mapping[str, Any]) -> ChatMessage:
    role = raw.get("role")
    if role == "developer":
        role = "system"
    if role not in ("system", "user", "assistant", "tool"):
        raise ValueError(f"unknown message role: {role!r}")
    content = raw.get("content")
    if content is not None and not isinstance(content, (str, list)):
        raise ValueError("message content must be a string or a list of parts")
    return ChatMessage(
        role=role,
        content=content,
        tool_calls=_tool_calls(raw.get("tool_calls")) or None,
        tool_call_id=raw.get("tool_call_id"),
        name=raw.get("name"),
    )


def chat_request_from_openai(body: Mapping[str, Any]) -> ChatRequest:
    """An OpenAI Chat Completions body as a ChatRequest: leading system (or
    developer) messages become ``system``; unknown fields go to ``extra``.
    Raises ValueError on a malformed body (the caller answers 400)."""
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise ValueError("messages must be a list")
    messages = [_message_from_openai(m) for m in raw_messages if isinstance(m, dict)]
    system: list[str] = []
    while messages and messages[0].role == "system":
        system.append(_text_of(messages.pop(0).content))
    request = ChatRequest(
        model=str(body.get("model") or ""),
        messages=messages,
        system="\n\n".join(system) if system else None,
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        extra={k: v for k, v in body.items() if k not in _NOT_EXTRA},
    )
    request.extra.pop("stream_options", None)
    for name in _OPTIONAL:
        if body.get(name) is not None:
            setattr(request, name, body[name])
    return request
