"""Normalized completions and stream events as OpenAI's Chat Completions JSON,
for /v1/chat/completions requests served by a provider of another wire
(Anthropic). No I/O here.

    body = completion_to_openai(completion, model="claude-haiku-4-5", id=cid)

    chunks = OpenAIChunkStream(id=cid, model=m, include_usage=True)
    for event in events:
        for chunk in chunks.feed(event):   # chat.completion.chunk dicts
            yield sse_chunk(chunk)
    yield DONE_FRAME

The first chunk carries ``delta.role``; a tool call's id, type and name come
on its first chunk, its argument fragments after; Finish is a chunk with an
empty delta and ``finish_reason``; usage is a last chunk with ``choices: []``
when the client asked ``stream_options.include_usage``. Usage keeps OpenAI's
convention (prompt tokens include the cache); Anthropic's cache writes, which
OpenAI has no field for, are shown as ``prompt_tokens_details.cache_write_tokens``
when there are any.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from aihub.providers.base import (
    Completion,
    Finish,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageReport,
)

DONE_FRAME = b"data: [DONE]\n\n"


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def usage_to_openai(usage: Usage | None) -> dict[str, Any]:
    usage = usage or Usage(reported=False)
    prompt_details: dict[str, int] = {"cached_tokens": usage.cached_tokens}
    if usage.cache_write_tokens:
        prompt_details["cache_write_tokens"] = usage.cache_write_tokens
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens
        or usage.prompt_tokens + usage.completion_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def completion_to_openai(
    completion: Completion, model: str, id: str, *, created: int | None = None
) -> dict[str, Any]:
    """A ``chat.completion`` object (one choice) for a finished completion."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": completion.text
        if completion.text or not completion.tool_calls
        else None,
        "refusal": None,
    }
    if completion.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments or "{}"},
            }
            for call in completion.tool_calls
        ]
    body: dict[str, Any] = {
        "id": id,
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": completion.finish_reason,
            }
        ],
    }
    if completion.usage is not None:
        body["usage"] = usage_to_openai(completion.usage)
    return body


def _chunk(
    id: str, model: str, created: int, delta: dict[str, Any], finish: str | None
) -> dict[str, Any]:
    return {
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        ],
    }


def _tool_delta(event: ToolCallDelta) -> dict[str, Any]:
    call: dict[str, Any] = {"index": event.index}
    function: dict[str, Any] = {"arguments": event.arguments}
    if event.id is not None or event.name is not None:
        call["id"] = event.id or f"call_{uuid.uuid4().hex[:24]}"
        call["type"] = "function"
        function = {"name": event.name or "", "arguments": event.arguments}
    call["function"] = function
    return {"tool_calls": [call]}


def event_to_openai_chunk(
    event: StreamEvent,
    *,
    id: str,
    model: str,
    created: int,
    include_usage: bool = False,
    role: bool = False,
) -> dict[str, Any] | None:
    """One event as a ``chat.completion.chunk`` (None when it makes none: a
    usage report the client did not ask for, an empty text). ``role`` adds
    ``delta.role`` (the first chunk of a stream)."""
    if isinstance(event, TextDelta):
        if not event.text and not role:
            return None
        delta: dict[str, Any] = {"content": event.text}
    elif isinstance(event, ToolCallDelta):
        delta = _tool_delta(event)
    elif isinstance(event, Finish):
        return _chunk(id, model, created, {}, event.reason)
    else:
        if not include_usage:
            return None
        chunk = _chunk(id, model, created, {}, None)
        chunk["choices"] = []
        chunk["usage"] = usage_to_openai(event.usage)
        return chunk
    if role:
        delta = {"role": "assistant", **delta}
    return _chunk(id, model, created, delta, None)


def role_chunk(id: str, model: str, created: int) -> dict[str, Any]:
    """The opening chunk: ``delta: {"role": "assistant", "content": ""}``."""
    return _chunk(id, model, created, {"role": "assistant", "content": ""}, None)


class OpenAIChunkStream:
    """Stateful wrapper: the role on the first chunk; with ``include_usage``
    every content chunk carries ``usage: null`` as OpenAI sends it, and the
    usage chunk comes last (after Finish) even if the provider reported it
    earlier."""

    __slots__ = ("_started", "created", "id", "include_usage", "model", "usage")

    def __init__(
        self,
        *,
        id: str,
        model: str,
        include_usage: bool = False,
        created: int | None = None,
    ) -> None:
        self.id = id
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time()) if created is None else created
        self.usage: Usage | None = None
        self._started = False

    def feed(self, event: StreamEvent) -> list[dict[str, Any]]:
        if isinstance(event, UsageReport):
            self.usage = event.usage
            return []
        chunks = []
        if not self._started:
            self._started = True
            chunks.append(role_chunk(self.id, self.model, self.created))
        chunk = event_to_openai_chunk(
            event, id=self.id, model=self.model, created=self.created
        )
        if chunk is not None:
            chunks.append(chunk)
        if self.include_usage:
            for item in chunks:
                item["usage"] = None
        return chunks

    def finish(self, usage: Usage | None = None) -> list[dict[str, Any]]:
        """The usage chunk (when asked; ``usage`` fills a missing report)."""
        if not self.include_usage:
            return []
        chunk = event_to_openai_chunk(
            UsageReport(self.usage or usage or Usage(reported=False)),
            id=self.id,
            model=self.model,
            created=self.created,
            include_usage=True,
        )
        return [chunk] if chunk is not None else []


def sse_chunk(chunk: dict[str, Any]) -> bytes:
    """One ``data:`` frame of an OpenAI stream."""
    return b"data: " + orjson.dumps(chunk) + b"\n\n"
