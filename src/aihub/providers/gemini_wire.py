"""Google Gemini's native generateContent API on the wire, both ways, no HTTP.

Request: the system prompt (and any system message) in ``systemInstruction``;
``contents`` with roles ``user`` and ``model``, consecutive turns of one role
merged; text parts; images as ``inlineData`` for ``data:`` URLs and as
``fileData`` (``fileUri``) for any other URL: Gemini fetches those itself, so
aihub never connects to an address a user wrote. An assistant's tool calls are
``functionCall`` parts, tool results ``functionResponse`` parts (named after
the call they answer; a result that is not a JSON object is wrapped as
``{"result": ...}``). OpenAI function tools become ``functionDeclarations``
with their schema as ``parametersJsonSchema`` (full JSON Schema, no lossy
conversion); ``response_format`` json_object / json_schema becomes
``responseMimeType`` / ``responseJsonSchema`` in ``generationConfig``, and
OpenAI's ``reasoning_effort`` a ``thinkingConfig.thinkingBudget`` (none 0, low
1024, medium 8192, high 24576 tokens).

Usage follows OpenAI's convention: Gemini's ``promptTokenCount`` already
counts ``cachedContentTokenCount``; its ``candidatesTokenCount`` leaves out
``thoughtsTokenCount``, which Gemini bills as output, so
completion_tokens = candidates + thoughts, reasoning_tokens = thoughts.
"""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from aihub.providers.base import (
    ChatMessage,
    ChatRequest,
    Completion,
    Embeddings,
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
    UpstreamUnavailable,
    error_from_response,
    parse_duration,
    reads_upstream_json,
    retry_after_from,
    safe_code,
    safe_message,
)

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
_CONFIG_EXTRA = {
    "top_k": "topK",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "thinking_config": "thinkingConfig",
}
_THINKING_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192}
_THINKING_BUDGETS["high"] = 24576
_AUTH_REASONS = ("API_KEY_INVALID", "API_KEY_EXPIRED", "API key not valid")


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def usage_from_gemini(meta: Mapping[str, Any]) -> Usage:
    prompt = _int(meta.get("promptTokenCount")) + _int(
        meta.get("toolUsePromptTokenCount")
    )
    thoughts = _int(meta.get("thoughtsTokenCount"))
    completion = _int(meta.get("candidatesTokenCount")) + thoughts
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=_int(meta.get("cachedContentTokenCount")),
        reasoning_tokens=thoughts,
        total_tokens=prompt + completion,
    )


def finish_reason(value: Any, *, has_calls: bool) -> FinishReason:
    reason = _FINISH.get(value, "stop") if isinstance(value, str) else "stop"
    return "tool_calls" if has_calls and reason == "stop" else reason


# -- request --------------------------------------------------------------------


def image_part(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        mime, data = url[5:].split(";base64,", 1)
        return {"inlineData": {"mimeType": mime or "image/png", "data": data}}
    mime = mimetypes.guess_type(url.split("?", 1)[0])[0] or "image/jpeg"
    return {"fileData": {"mimeType": mime, "fileUri": url}}


def _part(part: Mapping[str, Any]) -> dict[str, Any] | None:
    kind = part.get("type")
    if kind == "text":
        text = part.get("text")
        return {"text": text} if text else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        return image_part(url) if isinstance(url, str) and url else None
    if kind == "image" and isinstance(part.get("image"), str):
        return image_part(part["image"])
    return None


def content_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    if isinstance(content, list):
        parts = (_part(p) for p in content if isinstance(p, Mapping))
        return [p for p in parts if p is not None]
    return []


def _text(content: Any) -> str:
    return "\n".join(p["text"] for p in content_parts(content) if "text" in p)


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {"arguments": raw}
    return value if isinstance(value, dict) else {"value": value}


def _tool_result(content: Any) -> dict[str, Any]:
    text = content if isinstance(content, str) else _text(content)
    try:
        value = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"result": text}


def _turn(message: ChatMessage, names: dict[str, str]) -> tuple[str, list[Any]]:
    if message.role == "tool":
        call_id = message.tool_call_id or ""
        name = names.get(call_id) or message.name or call_id
        response = {"name": name, "response": _tool_result(message.content)}
        return "user", [{"functionResponse": response}]
    parts = content_parts(message.content)
    for call in message.tool_calls or ():
        names[call.id] = call.name
        parts.append(
            {"functionCall": {"name": call.name, "args": _arguments(call.arguments)}}
        )
    return ("model" if message.role == "assistant" else "user"), parts


def encode_contents(request: ChatRequest) -> tuple[list[dict[str, Any]], list[str]]:
    """(contents, system texts) with same-role turns merged."""
    system = [request.system] if request.system else []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for message in request.messages:
        if message.role == "system":
            system.append(_text(message.content))
            continue
        role, parts = _turn(message, names)
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents, system


def encode_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    declarations: list[dict[str, Any]] = []
    native: list[dict[str, Any]] = []
    for tool in tools:
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, Mapping):
            native.append(dict(tool))  # a Gemini tool already (googleSearch...)
            continue
        declaration: dict[str, Any] = {"name": function.get("name")}
        if function.get("description"):
            declaration["description"] = function["description"]
        if function.get("parameters"):
            declaration["parametersJsonSchema"] = function["parameters"]
        declarations.append(declaration)
    if declarations:
        native.insert(0, {"functionDeclarations": declarations})
    return native


def encode_tool_choice(choice: Any) -> dict[str, Any] | None:
    modes = {"auto": "AUTO", "required": "ANY", "none": "NONE"}
    if isinstance(choice, str) and choice in modes:
        return {"functionCallingConfig": {"mode": modes[choice]}}
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if isinstance(function, Mapping) and function.get("name"):
            config = {"mode": "ANY", "allowedFunctionNames": [function["name"]]}
            return {"functionCallingConfig": config}
    return None


def _generation_config(request: ChatRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.max_tokens is not None:
        config["maxOutputTokens"] = request.max_tokens
    if request.stop:
        stop = request.stop
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    if request.seed is not None:
        config["seed"] = request.seed
    if request.n is not None and request.n > 1:
        config["candidateCount"] = request.n
    fmt = request.response_format or {}
    if fmt.get("type") == "json_object":
        config["responseMimeType"] = "application/json"
    elif fmt.get("type") == "json_schema":
        config["responseMimeType"] = "application/json"
        schema = (fmt.get("json_schema") or {}).get("schema")
        if isinstance(schema, Mapping):
            config["responseJsonSchema"] = schema
    effort = request.extra.get("reasoning_effort")
    if isinstance(effort, str) and effort in _THINKING_BUDGETS:
        config["thinkingConfig"] = {"thinkingBudget": _THINKING_BUDGETS[effort]}
    for key, native in _CONFIG_EXTRA.items():
        if key in request.extra:
            config[native] = request.extra[key]
    return config


def encode_body(request: ChatRequest) -> dict[str, Any]:
    contents, system = encode_contents(request)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
    if request.tools:
        body["tools"] = encode_tools(request.tools)
        choice = encode_tool_choice(request.tool_choice)
        if choice is not None:
            body["toolConfig"] = choice
    config = _generation_config(request)
    if config:
        body["generationConfig"] = config
    if isinstance(request.extra.get("safety_settings"), list):
        body["safetySettings"] = request.extra["safety_settings"]
    return body


# -- reply ----------------------------------------------------------------------


def _call_id(call: Mapping[str, Any]) -> str:
    given = call.get("id")
    return str(given) if given else f"call_{uuid.uuid4().hex[:24]}"


def _candidate(data: Mapping[str, Any]) -> Mapping[str, Any]:
    candidates = data.get("candidates") or []
    return candidates[0] if candidates and isinstance(candidates[0], dict) else {}


def _parts_of(candidate: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    parts = (candidate.get("content") or {}).get("parts") or []
    return [p for p in parts if isinstance(p, Mapping) and not p.get("thought")]


def _blocked(data: Mapping[str, Any]) -> bool:
    feedback = data.get("promptFeedback")
    return isinstance(feedback, Mapping) and bool(feedback.get("blockReason"))


@reads_upstream_json
def parse_completion(data: dict[str, Any], *, model: str) -> Completion:
    candidate = _candidate(data)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for part in _parts_of(candidate):
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        call = part.get("functionCall")
        if isinstance(call, Mapping):
            calls.append(
                ToolCall(
                    id=_call_id(call),
                    name=str(call.get("name") or ""),
                    arguments=orjson.dumps(call.get("args") or {}).decode(),
                )
            )
    meta = data.get("usageMetadata")
    reason = (
        "content_filter"
        if _blocked(data)
        else finish_reason(candidate.get("finishReason"), has_calls=bool(calls))
    )
    return Completion(
        text="".join(texts),
        tool_calls=calls,
        usage=usage_from_gemini(meta) if isinstance(meta, dict) else None,
        finish_reason=reason,
        model=str(data.get("modelVersion") or model),
        raw=data,
    )


class StreamDecoder:
    """streamGenerateContent's SSE chunks (each a GenerateContentResponse: text
    deltas, whole functionCall parts, the latest usageMetadata) as normalized
    events; Finish and the usage once the stream is over (``end``)."""

    __slots__ = ("calls", "finish", "model", "usage")

    def __init__(self) -> None:
        self.calls = 0
        self.finish: FinishReason | None = None
        self.model: str | None = None
        self.usage: dict[str, Any] | None = None

    @reads_upstream_json
    def feed(self, data: bytes) -> list[StreamEvent]:
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise UpstreamUnavailable("Upstream sent a malformed stream event") from exc
        if not isinstance(chunk, dict):
            raise UpstreamUnavailable("Upstream sent a malformed stream event")
        if "error" in chunk:
            status = _int((chunk.get("error") or {}).get("code")) or 500
            raise gemini_error(status, {}, data)
        self.model = chunk.get("modelVersion") or self.model
        if isinstance(chunk.get("usageMetadata"), dict):
            self.usage = chunk["usageMetadata"]
        if _blocked(chunk):
            self.finish = "content_filter"
            return []
        events: list[StreamEvent] = []
        candidate = _candidate(chunk)
        for part in _parts_of(candidate):
            if isinstance(part.get("text"), str) and part["text"]:
                events.append(TextDelta(part["text"]))
            call = part.get("functionCall")
            if isinstance(call, Mapping):
                args = orjson.dumps(call.get("args") or {}).decode()
                events.append(
                    ToolCallDelta(
                        self.calls, _call_id(call), str(call.get("name") or ""), args
                    )
                )
                self.calls += 1
        if candidate.get("finishReason"):
            self.finish = finish_reason(
                candidate["finishReason"], has_calls=self.calls > 0
            )
        return events

    def end(self) -> list[StreamEvent]:
        if self.finish is None:
            raise UpstreamUnavailable("Upstream stream ended before a finishReason")
        events: list[StreamEvent] = [Finish(self.finish)]
        if self.usage:
            events.append(UsageReport(usage_from_gemini(self.usage)))
        return events


# -- embeddings -----------------------------------------------------------------


def encode_embed_body(
    model: str, inputs: list[str], dimensions: int | None
) -> dict[str, Any]:
    name = "models/" + model.removeprefix("models/")
    requests = []
    for text in inputs:
        one: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
        if dimensions is not None:
            one["outputDimensionality"] = dimensions
        requests.append(one)
    return {"requests": requests}


@reads_upstream_json
def parse_embeddings(data: dict[str, Any], *, model: str, count: int) -> Embeddings:
    vectors = [
        [float(v) for v in item["values"]] for item in data.get("embeddings") or ()
    ]
    if len(vectors) != count:
        raise UpstreamUnavailable("Upstream sent a different number of embeddings")
    return Embeddings(vectors=vectors, usage=None, model=model, raw=data)


# -- errors ---------------------------------------------------------------------


def _status_body(body: bytes) -> tuple[str | None, str, list[Any]]:
    """(google.rpc status, raw text, details) of an error body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, "", []
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None, "", []
    details = error.get("details")
    status = error.get("status")
    return (
        status if isinstance(status, str) else None,
        str(error.get("message") or ""),
        details if isinstance(details, list) else [],
    )


def _retry_delay(details: list[Any]) -> float | None:
    for detail in details:
        if isinstance(detail, dict) and isinstance(detail.get("retryDelay"), str):
            return parse_duration(detail["retryDelay"])
    return None


def gemini_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """Gemini's google.rpc error replies as aihub's error kinds: a bad or expired
    key (a 400 INVALID_ARGUMENT with reason API_KEY_INVALID) is an invalid key,
    PERMISSION_DENIED too; 429 RESOURCE_EXHAUSTED a rate limit whose wait is the
    RetryInfo ``retryDelay`` (Gemini's quota text would read as a billing
    problem otherwise); the rest as for every provider."""
    rpc, text, details = _status_body(body[:65536])
    raw = body[:65536].decode("utf-8", "replace")
    code = safe_code(rpc)
    message = safe_message(status, rpc, None)
    if any(reason in raw for reason in _AUTH_REASONS) or rpc == "PERMISSION_DENIED":
        return UpstreamAuthFailed(message, status=status, code=code)
    if status == 429 or rpc == "RESOURCE_EXHAUSTED":
        wait = _retry_delay(details)
        return UpstreamRateLimited(
            message,
            retry_after=wait if wait is not None else retry_after_from(headers),
            status=status,
            code=code,
        )
    if status == 400 and "token count" in text and "exceeds" in text:
        return UpstreamBadRequest(
            message, status=status, code=code, is_context_error=True
        )
    return error_from_response(status, headers, body)
