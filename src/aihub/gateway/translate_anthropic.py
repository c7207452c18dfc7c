"""Anthropic's Messages API <-> the normalized types, for /v1/messages served by
a provider of another wire (OpenAI, Azure, Qwen...). No I/O here.

    request = request_from_anthropic(body)            # 400 on a malformed body
    message = completion_to_anthropic(completion, model="gpt-4o", message_id=mid)

    stream = AnthropicStream(message_id=mid, model="gpt-4o")
    yield stream.start()                              # message_start, ping
    for event in events: yield stream.feed(event)     # content_block_* frames
    yield stream.finish()                             # message_delta, message_stop

Requests: ``system`` (a string or text blocks) becomes ``ChatRequest.system``;
text, image (base64 or url source) and text/PDF document blocks become OpenAI
parts; an assistant's ``tool_use`` blocks its ``tool_calls``; a user turn's
``tool_result`` blocks become ``tool`` messages placed before the rest of that
turn (OpenAI wants them right after the calls). Tools become function tools,
``tool_choice`` OpenAI's, ``stop_sequences`` ``stop``, ``metadata.user_id``
``user``. Thinking blocks of earlier turns are dropped (other providers cannot
read them); server tools and unknown blocks are refused with a 400.

Usage: Anthropic's ``input_tokens`` excludes the cache, so it is the normalized
``prompt_tokens`` less ``cached_tokens`` and ``cache_write_tokens``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from aihub.core.error_handlers import error_body
from aihub.core.errors import AihubError, BadRequestError
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

MESSAGES_PATH = "/v1/messages"
STOP_REASONS: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_SKIPPED_BLOCKS = frozenset({"thinking", "redacted_thinking"})


class MessagesRequestInvalidError(BadRequestError):
    """A /v1/messages body Anthropic itself would refuse (400)."""


def _fail(where: str, problem: str) -> MessagesRequestInvalidError:
    return MessagesRequestInvalidError(f"{where}: {problem}")


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex[:24]}"


def _new_tool_id() -> str:
    return f"toolu_{uuid.uuid4().hex[:24]}"


# -- request: Anthropic -> normalized ------------------------------------------


def _text_of_blocks(value: Any, where: str) -> str:
    """A string, or the text of a list of text blocks (system, tool results)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise _fail(where, "must be a string or a list of text blocks")
    texts = []
    for i, block in enumerate(value):
        if not isinstance(block, Mapping) or block.get("type") != "text":
            raise _fail(f"{where}.{i}", "must be a text block")
        texts.append(_str(block.get("text"), f"{where}.{i}.text"))
    return "\n\n".join(texts)


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _fail(where, "must be a string")
    return value


def _image_part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise _fail(f"{where}.source", "is required")
    kind = source.get("type")
    if kind == "base64":
        media = _str(source.get("media_type"), f"{where}.source.media_type")
        data = _str(source.get("data"), f"{where}.source.data")
        url = f"data:{media};base64,{data}"
    elif kind == "url":
        url = _str(source.get("url"), f"{where}.source.url")
    else:
        raise _fail(f"{where}.source.type", "must be 'base64' or 'url'")
    return {"type": "image_url", "image_url": {"url": url}}


def _document_part(block: Mapping[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, Mapping):
        raise _fail(f"{where}.source", "is required")
    kind = source.get("type")
    if kind == "text":
        return {"type": "text", "text": _str(source.get("data"), f"{where}.source")}
    if kind == "base64" and source.get("media_type") == "application/pdf":
        data = _str(source.get("data"), f"{where}.source.data")
        title = block.get("title")
        return {
            "type": "file",
            "file": {
                "filename": title if isinstance(title, str) and title else "doc.pdf",
                "file_data": f"data:application/pdf;base64,{data}",
            },
        }
    raise _fail(f"{where}.source", "only text and base64 PDF documents are served")


def _part(block: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    """One content block as an OpenAI part (None: dropped)."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": _str(block.get("text"), f"{where}.text")}
    if kind == "image":
        return _image_part(block, where)
    if kind == "document":
        return _document_part(block, where)
    if kind in _SKIPPED_BLOCKS:
        return None
    raise _fail(f"{where}.type", f"block type {kind!r} is not supported here")


def _content(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A lone text part as a plain string (every provider takes that)."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        text: str = parts[0]["text"]
        return text
    return parts


def _tool_result(block: Mapping[str, Any], where: str) -> list[ChatMessage]:
    """A tool message, then a user message with the result's images if any
    (OpenAI tool messages carry text only)."""
    call_id = _str(block.get("tool_use_id"), f"{where}.tool_use_id")
    raw = block.get("content")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    if isinstance(raw, str):
        texts.append(raw)
    elif isinstance(raw, list):
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise _fail(f"{where}.content.{i}", "must be an object")
            part = _part(item, f"{where}.content.{i}")
            if part is None:
                continue
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                images.append(part)
    elif raw is not None:
        raise _fail(f"{where}.content", "must be a string or a list of blocks")
    text = "\n\n".join(texts)
    if block.get("is_error") is True:
        text = f"Error: {text}" if text else "Error"
    out = [ChatMessage(role="tool", content=text, tool_call_id=call_id)]
    if images:
        out.append(ChatMessage(role="user", content=images))
    return out


def _tool_call(block: Mapping[str, Any], where: str) -> ToolCall:
    call_input = block.get("input")
    if call_input is None:
        call_input = {}
    if not isinstance(call_input, Mapping):
        raise _fail(f"{where}.input", "must be an object")
    return ToolCall(
        id=_str(block.get("id"), f"{where}.id"),
        name=_str(block.get("name"), f"{where}.name"),
        arguments=orjson.dumps(call_input).decode(),
    )


def _user_turn(content: Any, where: str) -> list[ChatMessage]:
    if isinstance(content, str):
        return [ChatMessage(role="user", content=content)]
    results: list[ChatMessage] = []
    parts: list[dict[str, Any]] = []
    for i, block in enumerate(content):
        at = f"{where}.{i}"
        if not isinstance(block, Mapping):
            raise _fail(at, "must be an object")
        if block.get("type") == "tool_result":
            results.extend(_tool_result(block, at))
            continue
        part = _part(block, at)
        if part is not None:
            parts.append(part)
    if parts:
        results.append(ChatMessage(role="user", content=_content(parts)))
    return results


def _assistant_turn(content: Any, where: str) -> list[ChatMessage]:
    if isinstance(content, str):
        return [ChatMessage(role="assistant", content=content)]
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, block in enumerate(content):
        at = f"{where}.{i}"
        if not isinstance(block, Mapping):
            raise _fail(at, "must be an object")
        kind = block.get("type")
        if kind == "text":
            texts.append(_str(block.get("text"), f"{at}.text"))
        elif kind == "tool_use":
            calls.append(_tool_call(block, at))
        elif kind not in _SKIPPED_BLOCKS:
            raise _fail(f"{at}.type", f"block type {kind!r} is not supported here")
    if not texts and not calls:
        return []
    return [
        ChatMessage(
            role="assistant",
            content="".join(texts) if texts else None,
            tool_calls=calls or None,
        )
    ]


def messages_from_anthropic(raw: Any) -> list[ChatMessage]:
    if not isinstance(raw, list) or not raw:
        raise _fail("messages", "must be a non-empty list")
    messages: list[ChatMessage] = []
    for i, message in enumerate(raw):
        where = f"messages.{i}"
        if not isinstance(message, Mapping):
            raise _fail(where, "must be an object")
        role = message.get("role")
        content = message.get("content")
        if not isinstance(content, (str, list)):
            raise _fail(f"{where}.content", "must be a string or a list of blocks")
        if role == "user":
            messages.extend(_user_turn(content, f"{where}.content"))
        elif role == "assistant":
            messages.extend(_assistant_turn(content, f"{where}.content"))
        else:
            raise _fail(f"{where}.role", "must be 'user' or 'assistant'")
    return messages


def tool_from_anthropic(tool: Any, where: str) -> dict[str, Any]:
    if not isinstance(tool, Mapping):
        raise _fail(where, "must be an object")
    kind = tool.get("type")
    if kind not in (None, "custom"):
        raise _fail(
            f"{where}.type", f"server tool {kind!r} is served by Anthropic only"
        )
    schema = tool.get("input_schema")
    if not isinstance(schema, Mapping):
        raise _fail(f"{where}.input_schema", "must be an object")
    function: dict[str, Any] = {
        "name": _str(tool.get("name"), f"{where}.name"),
        "parameters": dict(schema),
    }
    description = tool.get("description")
    if isinstance(description, str) and description:
        function["description"] = description
    return {"type": "function", "function": function}


def tool_choice_from_anthropic(choice: Any) -> tuple[str | dict[str, Any], bool]:
    """(OpenAI tool_choice, parallel tool calls allowed)."""
    if not isinstance(choice, Mapping):
        raise _fail("tool_choice", "must be an object")
    parallel = choice.get("disable_parallel_tool_use") is not True
    kind = choice.get("type")
    if kind == "auto":
        return "auto", parallel
    if kind == "any":
        return "required", parallel
    if kind == "none":
        return "none", parallel
    if kind == "tool":
        name = _str(choice.get("name"), "tool_choice.name")
        return {"type": "function", "function": {"name": name}}, parallel
    raise _fail("tool_choice.type", "must be auto, any, tool or none")


def _number(body: Mapping[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(name, "must be a number")
    return float(value)


def max_tokens_of(body: Mapping[str, Any]) -> int:
    value = body.get("max_tokens")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail("max_tokens", "must be a positive integer")
    return value


def _stop(body: Mapping[str, Any]) -> list[str] | None:
    stops = body.get("stop_sequences")
    if stops is None:
        return None
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _fail("stop_sequences", "must be a list of strings")
    return list(stops) or None


def _tools(body: Mapping[str, Any], request: ChatRequest) -> None:
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise _fail("tools", "must be a list")
        request.tools = [
            tool_from_anthropic(t, f"tools.{i}") for i, t in enumerate(tools)
        ] or None
    if body.get("tool_choice") is not None:
        choice, parallel = tool_choice_from_anthropic(body["tool_choice"])
        request.tool_choice = choice
        if not parallel and request.tools:
            request.extra["parallel_tool_calls"] = False


def request_from_anthropic(
    body: Mapping[str, Any], *, model: str | None = None
) -> ChatRequest:
    """A Messages API body as a ChatRequest (``model`` overrides the body's).
    Raises MessagesRequestInvalidError (400) on a malformed body."""
    system = body.get("system")
    system_text = _text_of_blocks(system, "system") if system else None
    request = ChatRequest(
        model=model or _str(body.get("model"), "model"),
        messages=messages_from_anthropic(body.get("messages")),
        system=system_text or None,
        max_tokens=max_tokens_of(body),
        temperature=_number(body, "temperature"),
        top_p=_number(body, "top_p"),
        stop=_stop(body),
    )
    _tools(body, request)
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("user_id"), str):
        request.user = metadata["user_id"]
    return request


# -- responses: normalized -> Anthropic -----------------------------------------


def usage_to_anthropic(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage(reported=False)
    cached = usage.cached_tokens
    written = usage.cache_write_tokens
    return {
        "input_tokens": max(0, usage.prompt_tokens - cached - written),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
    }


def stop_reason(reason: FinishReason) -> str:
    return STOP_REASONS.get(reason, "end_turn")


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's JSON arguments as the object Anthropic's ``input`` must be."""
    try:
        value = orjson.loads(arguments) if arguments.strip() else {}
    except orjson.JSONDecodeError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def completion_to_anthropic(
    completion: Completion, *, model: str, message_id: str
) -> dict[str, Any]:
    """A Messages API response (``type: message``) for a finished completion."""
    content: list[dict[str, Any]] = []
    if completion.text or not completion.tool_calls:
        content.append({"type": "text", "text": completion.text})
    for call in completion.tool_calls:
        content.append(
            {
                "type": "tool_use",
                "id": call.id or _new_tool_id(),
                "name": call.name,
                "input": tool_input(call.arguments),
            }
        )
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(completion.finish_reason),
        "stop_sequence": None,
        "usage": usage_to_anthropic(completion.usage),
    }


def frame(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event as Anthropic writes them (``event:`` + ``data:``)."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def error_frame(error: AihubError) -> bytes:
    """The ``error`` event that ends a stream which failed after it started."""
    return frame("error", error_body(MESSAGES_PATH, error.error_type, error.message))


PING_FRAME = frame("ping", {"type": "ping"})


class AnthropicStream:
    """Normalized stream events as Anthropic's SSE frames, block by block: text
    in ``text`` blocks, each tool call in its own ``tool_use`` block whose
    arguments arrive as ``input_json_delta``. Feed every event, then
    ``finish()``; Finish and UsageReport are kept for the closing
    ``message_delta``."""

    __slots__ = (
        "_blocks",
        "_open",
        "_open_kind",
        "_tools",
        "message_id",
        "model",
        "reason",
        "usage",
    )

    def __init__(self, *, message_id: str, model: str) -> None:
        self.message_id = message_id
        self.model = model
        self.reason: FinishReason = "stop"
        self.usage: Usage | None = None
        self._blocks = 0
        self._open: int | None = None
        self._open_kind = ""
        self._tools: dict[int, int] = {}

    def start(self) -> bytes:
        message: dict[str, Any] = {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        start = frame("message_start", {"type": "message_start", "message": message})
        return start + PING_FRAME

    def feed(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._text(event.text) if event.text else b""
        if isinstance(event, ToolCallDelta):
            return self._tool(event)
        if isinstance(event, Finish):
            self.reason = event.reason
        elif isinstance(event, UsageReport):
            self.usage = event.usage
        return b""

    def finish(self, usage: Usage | None = None) -> bytes:
        """Close the open block, then message_delta (stop reason, usage; ``usage``
        replaces a missing report) and message_stop."""
        usage = self.usage or usage
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(self.reason), "stop_sequence": None},
            "usage": usage_to_anthropic(usage),
        }
        return (
            self._close()
            + frame("message_delta", delta)
            + frame("message_stop", {"type": "message_stop"})
        )

    def _open_block(self, kind: str, block: dict[str, Any]) -> tuple[int, bytes]:
        out = self._close()
        index = self._blocks
        self._blocks += 1
        self._open, self._open_kind = index, kind
        start = {"type": "content_block_start", "index": index, "content_block": block}
        return index, out + frame("content_block_start", start)

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open = self._open, None
        stop = {"type": "content_block_stop", "index": index}
        return frame("content_block_stop", stop)

    def _text(self, text: str) -> bytes:
        out = b""
        index = self._open
        if index is None or self._open_kind != "text":
            index, out = self._open_block("text", {"type": "text", "text": ""})
        delta = {"type": "text_delta", "text": text}
        event = {"type": "content_block_delta", "index": index, "delta": delta}
        return out + frame("content_block_delta", event)

    def _tool(self, event: ToolCallDelta) -> bytes:
        out = b""
        index = self._tools.get(event.index)
        if index is None:
            block = {
                "type": "tool_use",
                "id": event.id or _new_tool_id(),
                "name": event.name or "",
                "input": {},
            }
            index, out = self._open_block("tool_use", block)
            self._tools[event.index] = index
        if not event.arguments:
            return out
        delta = {"type": "input_json_delta", "partial_json": event.arguments}
        data = {"type": "content_block_delta", "index": index, "delta": delta}
        return out + frame("content_block_delta", data)
