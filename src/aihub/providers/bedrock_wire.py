"""AWS Bedrock's Converse API on the wire, both ways, with no HTTP.

Request: the system prompt (and any system message) as ``system`` text blocks;
``messages`` with roles user/assistant, consecutive turns merged; text blocks;
images as ``image`` blocks with base64 ``bytes`` (Converse takes no URL: an
image must come as a ``data:`` URL, any other is a 400 before the call); an
assistant's tool calls as ``toolUse`` blocks, tool results as ``toolResult``
blocks in a user turn (a JSON object result as ``json``, anything else as
``text``); OpenAI function tools as ``toolConfig.tools[].toolSpec`` with
``inputSchema.json``; ``tool_choice`` auto/required/function as
``auto``/``any``/``tool`` (Converse has no "none": the tools are then sent
without a choice). ``inferenceConfig`` carries maxTokens, temperature, topP and
stopSequences; ``extra["additional_model_request_fields"]`` is passed as
``additionalModelRequestFields`` (top_k, thinking...).

Usage: Converse's ``inputTokens`` leaves the prompt cache out, so
prompt_tokens = input + cacheRead + cacheWrite (OpenAI's convention).

The stream (ConverseStream) is AWS's binary event-stream framing, decoded with
botocore's ``EventStreamBuffer``; each message's ``:event-type`` header names
the event (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata)
and an ``:message-type`` of ``exception`` carries an error.
"""

from __future__ import annotations

import base64
import binascii
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
    ProviderError,
    UpstreamAuthFailed,
    UpstreamBadRequest,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
    error_from_response,
    reads_upstream_json,
    retry_after_from,
    safe_message,
)

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/gif": "gif"}
_FORMATS["image/webp"] = "webp"
_FORMATS["image/jpg"] = "jpeg"

_RATE = frozenset(
    {
        "throttlingexception",
        "toomanyrequestsexception",
        "modelnotreadyexception",
        "servicequotaexceededexception",
    }
)
_AUTH = frozenset(
    {
        "accessdeniedexception",
        "unrecognizedclientexception",
        "invalidsignatureexception",
        "incompletesignatureexception",
        "expiredtokenexception",
        "missingauthenticationtokenexception",
        "invalidclienttokenid",
        "signaturedoesnotmatch",
    }
)
_DOWN = frozenset(
    {
        "internalserverexception",
        "serviceunavailableexception",
        "modelerrorexception",
        "modelstreamerrorexception",
    }
)
_CONTEXT_WORDS = ("too long", "too many tokens", "context window", "input length")


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def usage_from_bedrock(usage: Mapping[str, Any]) -> Usage:
    read = _int(usage.get("cacheReadInputTokens"))
    write = _int(usage.get("cacheWriteInputTokens"))
    prompt = _int(usage.get("inputTokens")) + read + write
    completion = _int(usage.get("outputTokens"))
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=read,
        cache_write_tokens=write,
        total_tokens=prompt + completion,
    )


def finish_reason(value: Any) -> FinishReason:
    return _FINISH.get(value, "stop") if isinstance(value, str) else "stop"


# -- request --------------------------------------------------------------------


def image_block(url: str) -> dict[str, Any]:
    if not (url.startswith("data:") and ";base64," in url):
        raise UpstreamBadRequest(
            "Bedrock takes images inline only: send the image as a data: URL"
        )
    mime, data = url[5:].split(";base64,", 1)
    fmt = _FORMATS.get(mime.lower())
    if fmt is None:
        raise UpstreamBadRequest(
            "Bedrock takes png, jpeg, gif or webp images, not " + (mime or "this")
        )
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UpstreamBadRequest("The image's data: URL is not valid base64") from exc
    return {"image": {"format": fmt, "source": {"bytes": data}}}


def _block(part: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        return {"text": text} if text else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return image_block(url) if isinstance(url, str) and url else None
    if kind == "image" and isinstance(part.get("image"), str):
        return image_block(part["image"])
    return None


def content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if isinstance(content, list):
        blocks = (_block(p) for p in content if isinstance(p, Mapping))
        return [b for b in blocks if b is not None]
    return []


def _text(content: Any) -> str:
    return "\n".join(b["text"] for b in content_blocks(content) if "text" in b)


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {"arguments": raw}
    return value if isinstance(value, dict) else {"value": value}


def _result(content: Any) -> list[dict[str, Any]]:
    text = content if isinstance(content, str) else _text(content)
    try:
        value = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return [{"json": value}]
    return [{"text": text or "(empty)"}]


def _turn(message: ChatMessage) -> tuple[str, list[dict[str, Any]]]:
    if message.role == "tool":
        result = {
            "toolUseId": message.tool_call_id or "",
            "content": _result(message.content),
        }
        return "user", [{"toolResult": result}]
    blocks = content_blocks(message.content)
    for call in message.tool_calls or ():
        use = {
            "toolUseId": call.id,
            "name": call.name,
            "input": _arguments(call.arguments),
        }
        blocks.append({"toolUse": use})
    return ("assistant" if message.role == "assistant" else "user"), blocks


def encode_messages(request: ChatRequest) -> tuple[list[dict[str, Any]], list[str]]:
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
        return dict(tool)  # a Converse tool already (toolSpec, cachePoint)
    spec: dict[str, Any] = {
        "name": function.get("name"),
        "inputSchema": {
            "json": function.get("parameters") or {"type": "object", "properties": {}}
        },
    }
    if function.get("description"):
        spec["description"] = function["description"]
    return {"toolSpec": spec}


def encode_tool_choice(choice: Any) -> dict[str, Any] | None:
    if choice == "auto":
        return {"auto": {}}
    if choice == "required":
        return {"any": {}}
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and function.get("name"):
            return {"tool": {"name": function["name"]}}
    return None


def encode_body(request: ChatRequest) -> dict[str, Any]:
    messages, system = encode_messages(request)
    body: dict[str, Any] = {"messages": messages}
    if system:
        body["system"] = [{"text": text} for text in system if text]
    config: dict[str, Any] = {}
    if request.max_tokens is not None:
        config["maxTokens"] = request.max_tokens
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.stop:
        stop = request.stop
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if config:
        body["inferenceConfig"] = config
    if request.tools:
        tool_config: dict[str, Any] = {"tools": [encode_tool(t) for t in request.tools]}
        choice = encode_tool_choice(request.tool_choice)
        if choice is not None:
            tool_config["toolChoice"] = choice
        body["toolConfig"] = tool_config
    extra = request.extra.get("additional_model_request_fields")
    if isinstance(extra, Mapping):
        body["additionalModelRequestFields"] = dict(extra)
    return body


# -- reply ----------------------------------------------------------------------


@reads_upstream_json
def parse_completion(data: dict[str, Any], *, model: str) -> Completion:
    message = (data.get("output") or {}).get("message") or {}
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.get("content") or ():
        if not isinstance(block, dict):
            continue
        if isinstance(block.get("text"), str):
            texts.append(block["text"])
        use = block.get("toolUse")
        if isinstance(use, dict):
            calls.append(
                ToolCall(
                    id=str(use.get("toolUseId") or ""),
                    name=str(use.get("name") or ""),
                    arguments=orjson.dumps(use.get("input") or {}).decode(),
                )
            )
    usage = data.get("usage")
    return Completion(
        text="".join(texts),
        tool_calls=calls,
        usage=usage_from_bedrock(usage) if isinstance(usage, dict) else None,
        finish_reason=finish_reason(data.get("stopReason")),
        model=model,
        raw=data,
    )


class StreamDecoder:
    """ConverseStream's events (already unframed: event type + JSON payload) as
    normalized events. Tool calls are numbered among toolUse blocks only."""

    __slots__ = ("stop_reason", "stopped", "tools", "usage")

    def __init__(self) -> None:
        self.stop_reason: Any = None
        self.stopped = False
        self.tools: dict[int, int] = {}
        self.usage: dict[str, Any] | None = None

    @reads_upstream_json
    def feed(self, kind: str, payload: bytes) -> list[StreamEvent]:
        try:
            event = orjson.loads(payload) if payload else {}
        except orjson.JSONDecodeError as exc:
            raise UpstreamUnavailable("Upstream sent a malformed stream event") from exc
        if kind == "contentBlockDelta":
            return self._delta(event)
        if kind == "contentBlockStart":
            use = (event.get("start") or {}).get("toolUse")
            if isinstance(use, dict):
                ordinal = len(self.tools)
                self.tools[_int(event.get("contentBlockIndex"))] = ordinal
                return [ToolCallDelta(ordinal, use.get("toolUseId"), use.get("name"))]
        elif kind == "messageStop":
            self.stopped = True
            self.stop_reason = event.get("stopReason")
        elif kind == "metadata" and isinstance(event.get("usage"), dict):
            self.usage = event["usage"]
        return []

    def _delta(self, event: dict[str, Any]) -> list[StreamEvent]:
        delta = event.get("delta") or {}
        if isinstance(delta.get("text"), str) and delta["text"]:
            return [TextDelta(delta["text"])]
        use = delta.get("toolUse")
        if isinstance(use, dict) and use.get("input"):
            ordinal = self.tools.get(_int(event.get("contentBlockIndex")))
            if ordinal is not None:
                return [ToolCallDelta(ordinal, arguments=str(use["input"]))]
        return []

    def end(self) -> list[StreamEvent]:
        if not self.stopped:
            raise UpstreamUnavailable("Upstream stream ended before messageStop")
        events: list[StreamEvent] = [Finish(finish_reason(self.stop_reason))]
        if self.usage:
            events.append(UsageReport(usage_from_bedrock(self.usage)))
        return events


# -- errors ---------------------------------------------------------------------


def _error_type(headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """(exception name, message) from ``x-amzn-ErrorType`` or the body's
    ``__type`` (``com.amazon...#ValidationException``)."""
    name = headers.get("x-amzn-ErrorType") or headers.get("x-amzn-errortype") or ""
    message = ""
    try:
        data = orjson.loads(body) if body else {}
    except orjson.JSONDecodeError:
        data = {}
    if isinstance(data, dict):
        name = name or str(data.get("__type") or "")
        message = str(data.get("message") or data.get("Message") or "")
    name = name.split(":", 1)[0].rsplit("#", 1)[-1]
    return name, message


def classify(
    name: str, message: str, status: int | None, headers: Mapping[str, str]
) -> ProviderError | None:
    """The error kind of a named AWS exception (None: not one we know)."""
    lowered = name.lower()
    code = name if name.isidentifier() else None
    text = safe_message(status, code, None)
    if lowered in _RATE:
        wait = retry_after_from(headers)
        return UpstreamRateLimited(text, retry_after=wait, status=status, code=code)
    if lowered in _AUTH:
        return UpstreamAuthFailed(text, status=status, code=code)
    if lowered == "modeltimeoutexception":
        return UpstreamTimeout(text, status=status, code=code)
    if lowered in _DOWN:
        return UpstreamUnavailable(text, status=status, code=code)
    if lowered in ("validationexception", "resourcenotfoundexception"):
        is_context = any(word in message.lower() for word in _CONTEXT_WORDS)
        return UpstreamBadRequest(
            text, status=status, code=code, is_context_error=is_context
        )
    return None


def bedrock_error(
    status: int, headers: Mapping[str, str], body: bytes
) -> ProviderError:
    """A non-2xx Converse reply as aihub's error kinds: ThrottlingException (and
    the other throttles) rests the key, AccessDenied / UnrecognizedClient /
    InvalidSignature / ExpiredToken invalidate it, the rest as for every
    provider."""
    name, message = _error_type(headers, body[:65536])
    known = classify(name, message, status, headers)
    return known if known is not None else error_from_response(status, headers, body)


def stream_exception(kind: str, payload: bytes) -> ProviderError:
    """An ``exception`` message inside a 200 stream (``throttlingException``...)."""
    try:
        data = orjson.loads(payload) if payload else {}
    except orjson.JSONDecodeError:
        data = {}
    message = str(data.get("message") or "") if isinstance(data, dict) else ""
    known = classify(kind, message, None, {})
    return known or UpstreamUnavailable(safe_message(None, None, None), status=None)
