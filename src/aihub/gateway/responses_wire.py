"""OpenAI's Responses API on the wire, with no HTTP: a /v1/responses body is
checked and turned into a Chat Completions body (every provider is reached
through the normalized ChatRequest, as /v1/messages' translated mode does), and
a Completion or a stream of events becomes a ``response`` object or the
documented ``response.*`` events.

    req = parse_request(body)                     # 400 on anything malformed
    chat = chat_body(req, history)                # earlier turns' items first
    response_object(req, id=..., completion=...)  # the stored and returned object
    stream = ResponsesStream(req, ...)            # start() / feed() / finish()

Only function tools run here: hosted tools (web search, file search, code
interpreter, computer use...) are refused with a 400 naming the tool.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from aihub.core.errors import BadRequestError
from aihub.providers.base import (
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

MESSAGE_ROLES = ("user", "assistant", "system", "developer")
TOOL_CHOICES = ("auto", "none", "required")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
# Anthropic's extended thinking budget for an OpenAI reasoning effort.
THINKING_BUDGET = {"minimal": 1024, "low": 1024, "medium": 4096, "high": 16384}
MAX_METADATA_PAIRS = 16
_KNOWN_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "previous_response_id",
        "store",
        "stream",
        "max_output_tokens",
        "temperature",
        "top_p",
        "text",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "reasoning",
        "metadata",
        "user",
        "include",
        "truncation",
        "background",
        "service_tier",
        "stream_options",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "top_logprobs",
        "max_tool_calls",
    }
)


class ResponsesRequestError(BadRequestError):
    """A malformed /v1/responses body (400 ``invalid_request_error``)."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


@dataclass(slots=True)
class ResponsesRequest:
    """A checked /v1/responses body; ``items`` is ``input`` as a list of items."""

    model: str
    items: list[dict[str, Any]]
    instructions: str | None = None
    previous_response_id: str | None = None
    store: bool = True
    stream: bool = False
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    text_format: dict[str, Any] = field(default_factory=lambda: {"type": "text"})
    tools: list[dict[str, Any]] = field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    parallel_tool_calls: bool = True
    reasoning: dict[str, Any] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    user: str | None = None


def _fail(message: str) -> ResponsesRequestError:
    return ResponsesRequestError(message)


def _number(
    body: Mapping[str, Any], name: str, low: float, high: float
) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(f"`{name}` must be a number")
    if not low <= value <= high:
        raise _fail(f"`{name}` must be between {low:g} and {high:g}")
    return float(value)


def _bool(body: Mapping[str, Any], name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail(f"`{name}` must be a boolean")
    return value


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _fail(f"`{name}` must be a string")
    return value


def parse_request(body: Mapping[str, Any]) -> ResponsesRequest:
    """Check a /v1/responses body: every error names the field at fault."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _fail("`model` is required")
    for name in body:
        if name not in _KNOWN_FIELDS:
            raise _fail(f"Unknown parameter: `{name}`")
    if body.get("background"):
        raise _fail("`background` responses are not supported here")
    max_output = body.get("max_output_tokens")
    if max_output is not None and (
        isinstance(max_output, bool) or not isinstance(max_output, int)
    ):
        raise _fail("`max_output_tokens` must be an integer")
    if max_output is not None and not 1 <= max_output <= 1_000_000:
        raise _fail("`max_output_tokens` must be between 1 and 1000000")
    instructions = body.get("instructions")
    if isinstance(instructions, list):  # instructions as input items
        instructions = "\n\n".join(
            _text_of(item.get("content"))
            for item in instructions
            if isinstance(item, dict)
        )
    elif instructions is not None and not isinstance(instructions, str):
        raise _fail("`instructions` must be a string")
    return ResponsesRequest(
        model=model.strip(),
        items=_items(body.get("input")),
        instructions=instructions or None,
        previous_response_id=_optional_str(body, "previous_response_id") or None,
        store=_bool(body, "store", True),
        stream=_bool(body, "stream", False),
        max_output_tokens=max_output,
        temperature=_number(body, "temperature", 0, 2),
        top_p=_number(body, "top_p", 0, 1),
        text_format=_text_format(body.get("text")),
        tools=_tools(body.get("tools")),
        tool_choice=_tool_choice(body.get("tool_choice")),
        parallel_tool_calls=_bool(body, "parallel_tool_calls", True),
        reasoning=_reasoning(body.get("reasoning")),
        metadata=_metadata(body.get("metadata")),
        user=_optional_str(body, "user"),
    )


def _items(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, str):
        if not raw:
            raise _fail("`input` must not be empty")
        return [_item({"role": "user", "content": raw}, 0)]
    if not isinstance(raw, list) or not raw:
        raise _fail("`input` must be a string or a non-empty list of items")
    return [_item(item, index) for index, item in enumerate(raw)]


def _item(item: Any, index: int) -> dict[str, Any]:
    where = f"input[{index}]"
    if not isinstance(item, dict):
        raise _fail(f"`{where}` must be an object")
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role not in MESSAGE_ROLES:
            raise _fail(f"`{where}.role` must be one of {', '.join(MESSAGE_ROLES)}")
        content = item.get("content")
        text_kind = "output_text" if role == "assistant" else "input_text"
        if isinstance(content, str):
            parts = [{"type": text_kind, "text": content}]
        elif isinstance(content, list) and content:
            parts = [
                _part(part, f"{where}.content[{i}]") for i, part in enumerate(content)
            ]
        else:
            raise _fail(f"`{where}.content` must be a string or a list of parts")
        return {
            "id": item.get("id") or new_id("msg"),
            "type": "message",
            "role": role,
            "content": parts,
            "status": "completed",
        }
    if kind == "function_call":
        for name in ("call_id", "name", "arguments"):
            if not isinstance(item.get(name), str):
                raise _fail(f"`{where}.{name}` must be a string")
        return {
            "type": "function_call",
            "id": item.get("id") or new_id("fc"),
            "call_id": item["call_id"],
            "name": item["name"],
            "arguments": item["arguments"],
            "status": "completed",
        }
    if kind == "function_call_output":
        if not isinstance(item.get("call_id"), str):
            raise _fail(f"`{where}.call_id` must be a string")
        output = item.get("output")
        if isinstance(output, list):
            output = _text_of(output)
        if not isinstance(output, str):
            raise _fail(f"`{where}.output` must be a string")
        return {
            "type": "function_call_output",
            "id": item.get("id") or new_id("fco"),
            "call_id": item["call_id"],
            "output": output,
            "status": "completed",
        }
    if kind == "reasoning":  # an earlier answer's reasoning, handed back
        return {"type": "reasoning", "id": item.get("id"), "summary": []}
    raise _fail(f"`{where}.type` {kind!r} is not supported here")


def _part(part: Any, where: str) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise _fail(f"`{where}` must be an object")
    kind = part.get("type")
    if kind in ("input_text", "output_text", "text"):
        if not isinstance(part.get("text"), str):
            raise _fail(f"`{where}.text` must be a string")
        return {"type": "input_text" if kind == "text" else kind, "text": part["text"]}
    if kind == "refusal":
        return {"type": "output_text", "text": str(part.get("refusal") or "")}
    if kind == "input_image":
        url = part.get("image_url")
        if not isinstance(url, str) or not url:
            raise _fail(f"`{where}.image_url` is required (file_id is not supported)")
        out = {"type": "input_image", "image_url": url}
        if isinstance(part.get("detail"), str):
            out["detail"] = part["detail"]
        return out
    raise _fail(f"`{where}.type` {kind!r} is not supported here")


def _text_format(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {"type": "text"}
    if not isinstance(raw, dict):
        raise _fail("`text` must be an object")
    fmt = raw.get("format")
    if fmt is None:
        return {"type": "text"}
    if not isinstance(fmt, dict) or fmt.get("type") not in (
        "text",
        "json_object",
        "json_schema",
    ):
        raise _fail("`text.format.type` must be text, json_object or json_schema")
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("name"), str) or not fmt["name"]:
            raise _fail("`text.format.name` is required for json_schema")
        if not isinstance(fmt.get("schema"), dict):
            raise _fail("`text.format.schema` must be an object")
    return dict(fmt)


def _tools(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _fail("`tools` must be a list")
    tools: list[dict[str, Any]] = []
    for index, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise _fail(f"`tools[{index}]` must be an object")
        kind = tool.get("type")
        if kind != "function":
            raise _fail(
                f"The tool `{kind}` is not run by aihub: only function tools are "
                "supported on /v1/responses"
            )
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise _fail(f"`tools[{index}].name` is required")
        params = tool.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise _fail(f"`tools[{index}].parameters` must be an object")
        tools.append(
            {
                "type": "function",
                "name": tool["name"],
                "description": tool.get("description"),
                "parameters": params or {"type": "object", "properties": {}},
                "strict": bool(tool.get("strict", True)),
            }
        )
    return tools


def _tool_choice(raw: Any) -> str | dict[str, Any]:
    if raw is None:
        return "auto"
    if isinstance(raw, str):
        if raw not in TOOL_CHOICES:
            raise _fail("`tool_choice` must be auto, none, required or a function")
        return raw
    if isinstance(raw, dict) and raw.get("type") == "function":
        if not isinstance(raw.get("name"), str):
            raise _fail("`tool_choice.name` is required")
        return {"type": "function", "name": raw["name"]}
    raise _fail("`tool_choice` must be auto, none, required or a function")


def _reasoning(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fail("`reasoning` must be an object")
    effort = raw.get("effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise _fail(f"`reasoning.effort` must be one of {', '.join(REASONING_EFFORTS)}")
    return {"effort": effort, "summary": raw.get("summary")}


def _metadata(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or len(raw) > MAX_METADATA_PAIRS:
        raise _fail("`metadata` must be an object of at most 16 string pairs")
    for key, value in raw.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise _fail("`metadata` values must be strings (keys 64, values 512)")
    return dict(raw)


# -- to Chat Completions ---------------------------------------------------------


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return ""


def _chat_content(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not any(p.get("type") == "input_image" for p in content):
        return _text_of(content)
    parts: list[dict[str, Any]] = []
    for part in content:
        if part["type"] == "input_image":
            image: dict[str, Any] = {"url": part["image_url"]}
            if part.get("detail") in ("low", "high"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            parts.append({"type": "text", "text": part["text"]})
    return parts


def chat_messages(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Responses items as Chat Completions messages: consecutive function calls
    join one assistant message (with the text before them)."""
    messages: list[dict[str, Any]] = []
    for item in items:
        kind = item["type"]
        if kind == "message":
            role = "system" if item["role"] == "developer" else item["role"]
            messages.append({"role": role, "content": _chat_content(item["content"])})
        elif kind == "function_call":
            call = {
                "id": item["call_id"],
                "type": "function",
                "function": {"name": item["name"], "arguments": item["arguments"]},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
                if not last.get("content"):
                    last["content"] = None
            else:
                messages.append(
                    {"role": "assistant", "content": None, "tool_calls": [call]}
                )
        elif kind == "function_call_output":
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": item["call_id"],
                    "content": item["output"],
                }
            )
    return messages


def chat_body(
    req: ResponsesRequest, history: list[dict[str, Any]], *, provider: str
) -> dict[str, Any]:
    """The Chat Completions body of a Responses call; ``history`` is every
    earlier turn's input and output items (previous_response_id)."""
    messages = chat_messages([*history, *req.items])
    if req.instructions:
        messages.insert(0, {"role": "system", "content": req.instructions})
    # Leading system turns become the system prompt; a later one is a user turn.
    start = 0
    while start < len(messages) and messages[start]["role"] == "system":
        start += 1
    for message in messages[start:]:
        if message["role"] == "system":
            message["role"] = "user"
    body: dict[str, Any] = {"model": req.model, "messages": messages}
    if req.max_output_tokens is not None:
        body["max_tokens"] = req.max_output_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.user:
        body["user"] = req.user
    fmt = req.text_format
    if fmt["type"] == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif fmt["type"] == "json_schema":
        schema = {"name": fmt["name"], "schema": fmt["schema"]}
        if fmt.get("strict") is not None:
            schema["strict"] = bool(fmt["strict"])
        if fmt.get("description"):
            schema["description"] = fmt["description"]
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    if req.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    k: v
                    for k, v in tool.items()
                    if k in ("name", "description", "parameters", "strict")
                    and v is not None
                },
            }
            for tool in req.tools
        ]
        choice = req.tool_choice
        body["tool_choice"] = (
            {"type": "function", "function": {"name": choice["name"]}}
            if isinstance(choice, dict)
            else choice
        )
        if not req.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    _reasoning_fields(req, body, provider=provider)
    return body


def _reasoning_fields(
    req: ResponsesRequest, body: dict[str, Any], *, provider: str
) -> None:
    """The reasoning effort where the provider has one: OpenAI's
    ``reasoning_effort``, Anthropic's extended-thinking budget."""
    effort = (req.reasoning or {}).get("effort")
    if not effort or effort == "none":
        return
    if provider == "anthropic":
        budget = THINKING_BUDGET.get(effort, 16384)
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = max(int(body.get("max_tokens") or 0), budget + 1024)
        body.pop("temperature", None)  # Anthropic refuses it with thinking
        body.pop("top_p", None)
    else:
        body["reasoning_effort"] = effort


# -- back to Responses -------------------------------------------------------------


def usage_block(usage: Usage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens
        or usage.prompt_tokens + usage.completion_tokens,
    }


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = (
        [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
        if status != "in_progress"
        else []
    )
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(
    item_id: str, call: ToolCall, status: str = "completed"
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "call_id": call.id or new_id("call"),
        "name": call.name,
        "arguments": call.arguments,
    }


def output_items(completion: Completion) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if completion.text or not completion.tool_calls:
        items.append(message_item(new_id("msg"), completion.text))
    items.extend(function_call_item(new_id("fc"), c) for c in completion.tool_calls)
    return items


def status_of(reason: FinishReason) -> tuple[str, dict[str, str] | None]:
    """The response's status and incomplete_details for a finish reason."""
    if reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


@dataclass(slots=True)
class ResponseHead:
    """What a response object says besides its output and outcome."""

    id: str
    model: str
    created_at: int = field(default_factory=lambda: int(time.time()))


def response_object(
    req: ResponsesRequest,
    head: ResponseHead,
    *,
    status: str,
    output: list[dict[str, Any]],
    usage: Usage | None = None,
    error: dict[str, Any] | None = None,
    incomplete: dict[str, str] | None = None,
) -> dict[str, Any]:
    reasoning = req.reasoning or {"effort": None, "summary": None}
    return {
        "id": head.id,
        "object": "response",
        "created_at": head.created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "model": head.model,
        "output": output,
        "parallel_tool_calls": req.parallel_tool_calls,
        "previous_response_id": req.previous_response_id,
        "reasoning": reasoning,
        "store": req.store,
        "temperature": req.temperature if req.temperature is not None else 1.0,
        "text": {"format": req.text_format},
        "tool_choice": req.tool_choice,
        "tools": req.tools,
        "top_p": req.top_p if req.top_p is not None else 1.0,
        "truncation": "disabled",
        "usage": usage_block(usage),
        "user": req.user,
        "metadata": req.metadata,
    }


def output_text(output: list[dict[str, Any]]) -> str:
    return "".join(
        part.get("text", "")
        for item in output
        if item.get("type") == "message"
        for part in item.get("content") or ()
        if part.get("type") == "output_text"
    )


# -- streaming ---------------------------------------------------------------------


def sse(event: dict[str, Any]) -> bytes:
    head = b"event: " + str(event["type"]).encode() + b"\ndata: "
    return head + orjson.dumps(event) + b"\n\n"


class ResponsesStream:
    """Stream events in, Responses SSE frames out, numbered by ``sequence_number``.
    The output items are built as they come, so ``output`` is the answer so far
    (kept whatever way the stream ends)."""

    def __init__(self, req: ResponsesRequest, head: ResponseHead) -> None:
        self.req = req
        self.head = head
        self.output: list[dict[str, Any]] = []
        self.usage: Usage | None = None
        self.reason: FinishReason = "stop"
        self._seq = 0
        self._text: list[str] | None = None  # the open message item's text
        self._calls: dict[int, int] = {}  # tool call index -> output index
        self._open_call: int | None = None

    def _frame(self, kind: str, **fields: Any) -> bytes:
        event = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return sse(event)

    def _response(self, status: str, **extra: Any) -> dict[str, Any]:
        return response_object(
            self.req, self.head, status=status, output=self.output, **extra
        )

    def start(self) -> bytes:
        snapshot = self._response("in_progress")
        snapshot["output"] = []
        return self._frame("response.created", response=snapshot) + self._frame(
            "response.in_progress", response=snapshot
        )

    def feed(self, event: StreamEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._text_delta(event.text) if event.text else b""
        if isinstance(event, ToolCallDelta):
            return self._call_delta(event)
        if isinstance(event, UsageReport):
            self.usage = event.usage
        elif isinstance(event, Finish):
            self.reason = event.reason
        return b""

    def _text_delta(self, text: str) -> bytes:
        out = b""
        if self._text is None:
            out += self._close_call()
            item = message_item(new_id("msg"), "", status="in_progress")
            self.output.append(item)
            self._text = []
            index = len(self.output) - 1
            out += self._frame(
                "response.output_item.added", output_index=index, item=item
            )
            out += self._frame(
                "response.content_part.added",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part={"type": "output_text", "text": "", "annotations": []},
            )
        self._text.append(text)
        index = len(self.output) - 1
        return out + self._frame(
            "response.output_text.delta",
            item_id=self.output[index]["id"],
            output_index=index,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _close_text(self) -> bytes:
        if self._text is None:
            return b""
        index = len(self.output) - 1
        text = "".join(self._text)
        self._text = None
        item = self.output[index]
        item.update(message_item(item["id"], text))
        part = item["content"][0]
        return (
            self._frame(
                "response.output_text.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                text=text,
                logprobs=[],
            )
            + self._frame(
                "response.content_part.done",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                part=part,
            )
            + self._frame("response.output_item.done", output_index=index, item=item)
        )

    def _call_delta(self, delta: ToolCallDelta) -> bytes:
        out = b""
        index = self._calls.get(delta.index)
        if index is None:
            out += self._close_text() + self._close_call()
            call = ToolCall(
                id=delta.id or new_id("call"), name=delta.name or "", arguments=""
            )
            item = function_call_item(new_id("fc"), call, status="in_progress")
            self.output.append(item)
            index = self._calls[delta.index] = len(self.output) - 1
            self._open_call = index
            out += self._frame(
                "response.output_item.added", output_index=index, item=dict(item)
            )
        item = self.output[index]
        if delta.name and not item["name"]:
            item["name"] = delta.name
        if delta.arguments:
            item["arguments"] += delta.arguments
            out += self._frame(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=index,
                delta=delta.arguments,
            )
        return out

    def _close_call(self) -> bytes:
        index, self._open_call = self._open_call, None
        if index is None:
            return b""
        item = self.output[index]
        item["status"] = "completed"
        return self._frame(
            "response.function_call_arguments.done",
            item_id=item["id"],
            output_index=index,
            arguments=item["arguments"],
        ) + self._frame("response.output_item.done", output_index=index, item=item)

    def close_items(self) -> bytes:
        return self._close_text() + self._close_call()

    def finish(self, usage: Usage | None) -> tuple[bytes, dict[str, Any]]:
        """The closing frames and the final response object."""
        self.usage = usage
        out = self.close_items()
        status, incomplete = status_of(self.reason)
        final = self._response(status, usage=usage, incomplete=incomplete)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return out + self._frame(kind, response=final), final

    def fail(self, code: str, message: str) -> tuple[bytes, dict[str, Any]]:
        """An upstream failure mid-stream: response.failed with what came so far."""
        for item in self.output:
            if item["status"] == "in_progress":
                item["status"] = "incomplete"
        if self._text is not None:
            item = self.output[-1]
            item["content"] = [
                {
                    "type": "output_text",
                    "text": "".join(self._text),
                    "annotations": [],
                    "logprobs": [],
                }
            ]
        self._text, self._open_call = None, None
        error = {"code": code, "message": message}
        final = self._response("failed", usage=self.usage, error=error)
        return self._frame("response.failed", response=final), final
