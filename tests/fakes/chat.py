"""The fake model's chat answers: a JSON reply, or the frames of a stream, in
OpenAI's (also Azure's and DashScope's) and Anthropic's formats."""

from __future__ import annotations

from typing import Any

import orjson

from tests.fakes.replies import Frames, Reply
from tests.fakes.wire import (
    FakeUsage,
    Figures,
    ToolCallSpec,
    anthropic_error,
    anthropic_message,
    anthropic_stop,
    anthropic_usage,
    openai_chunk,
    openai_completion,
    openai_error,
    openai_tool_chunks,
    openai_usage,
    split_text,
    sse,
    words,
)


def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text") or "")
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def _answer(reply: Reply, messages: list[Any]) -> tuple[str, list[ToolCallSpec]]:
    calls = list(reply.tool_calls or ())
    if reply.text is not None:
        return reply.text, calls
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    last_user = text_of(users[-1].get("content")) if users else ""
    return ("" if calls else f"echo: {last_user}"), calls


def _figures(reply: Reply, prompt_words: int, text: str) -> Figures:
    usage = reply.usage or FakeUsage()
    prompt = usage.prompt_tokens
    completion = usage.completion_tokens
    return Figures(
        prompt=max(1, prompt_words) if prompt is None else prompt,
        completion=max(1, words(text)) if completion is None else completion,
        cached=usage.cached_tokens,
        reasoning=usage.reasoning_tokens,
        cache_write=usage.cache_write_tokens,
    )


def _prompt_words(messages: list[Any], system: Any = None) -> int:
    counted = (text_of(m.get("content")) for m in messages if isinstance(m, dict))
    return words(text_of(system)) + sum(words(t) for t in counted)


def openai_chat(
    body: dict[str, Any], reply: Reply, *, rid: str, model: str, key: str
) -> dict[str, Any] | Frames:
    messages = body["messages"]
    text, calls = _answer(reply, messages)
    figures = _figures(reply, _prompt_words(messages), text)
    finish = reply.finish_reason or ("tool_calls" if calls else "stop")
    if body.get("stream") is not True:
        return openai_completion(
            rid=rid,
            model=model,
            text=text,
            calls=calls,
            finish=finish,
            figures=figures,
            n=int(body.get("n") or 1),
        )
    asked = (body.get("stream_options") or {}).get("include_usage") is True
    usage = asked if reply.stream_usage is None else reply.stream_usage
    frames = Frames()
    role = {"role": "assistant", "content": ""}
    frames.add(sse(openai_chunk(rid, model, role, None, usage)))
    deltas = [{"content": p} for p in split_text(text, reply.chunks)]
    for delta in deltas + openai_tool_chunks(calls):
        frames.add(sse(openai_chunk(rid, model, delta, None, usage)), content=True)
    if reply.stream_error:
        error = openai_error(500, reply.stream_error, reply.error_message, key)
        error["error"]["type"] = reply.stream_error
        frames.add(sse(error))
        return frames
    frames.add(sse(openai_chunk(rid, model, {}, finish, usage)))
    if usage:
        last = openai_chunk(rid, model, {}, None, False)
        last["choices"], last["usage"] = [], openai_usage(figures)
        frames.add(sse(last))
    frames.add(b"data: [DONE]\n\n")
    return frames


def anthropic_chat(
    body: dict[str, Any], reply: Reply, *, rid: str, model: str
) -> dict[str, Any] | Frames:
    messages = body["messages"]
    text, calls = _answer(reply, messages)
    figures = _figures(reply, _prompt_words(messages, body.get("system")), text)
    finish = reply.finish_reason or ("tool_calls" if calls else "stop")
    message = anthropic_message(
        rid=rid, model=model, text=text, calls=calls, finish=finish, figures=figures
    )
    if body.get("stream") is not True:
        return message
    frames = Frames()
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": anthropic_usage(figures, output=1),
    }
    frames.add(sse({"type": "message_start", "message": start}, "message_start"))
    index = 0
    if text:
        _text_block(frames, text, reply.chunks)
        index = 1
    for i, call in enumerate(calls):
        _tool_block(frames, index + i, call, i)
    if reply.stream_error:
        error = anthropic_error(529, reply.stream_error, reply.error_message)
        frames.add(sse(error, "error"))
        return frames
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": anthropic_stop(finish), "stop_sequence": None},
        "usage": {"output_tokens": figures.completion},
    }
    frames.add(sse(delta, "message_delta"))
    frames.add(sse({"type": "message_stop"}, "message_stop"))
    return frames


def _block_start(frames: Frames, index: int, block: dict[str, Any]) -> None:
    start = {"type": "content_block_start", "index": index, "content_block": block}
    frames.add(sse(start, "content_block_start"))


def _block_delta(frames: Frames, index: int, delta: dict[str, Any]) -> None:
    event = {"type": "content_block_delta", "index": index, "delta": delta}
    frames.add(sse(event, "content_block_delta"), content=True)


def _block_stop(frames: Frames, index: int) -> None:
    frames.add(
        sse({"type": "content_block_stop", "index": index}, "content_block_stop")
    )


def _text_block(frames: Frames, text: str, chunks: int) -> None:
    _block_start(frames, 0, {"type": "text", "text": ""})
    frames.add(sse({"type": "ping"}, "ping"))
    for piece in split_text(text, chunks):
        _block_delta(frames, 0, {"type": "text_delta", "text": piece})
    _block_stop(frames, 0)


def _tool_block(frames: Frames, index: int, call: ToolCallSpec, ordinal: int) -> None:
    block = {
        "type": "tool_use",
        "id": call.id or f"toolu_fake_{ordinal}",
        "name": call.name,
        "input": {},
    }
    _block_start(frames, index, block)
    for part in split_text(orjson.dumps(call.arguments).decode(), 2):
        _block_delta(frames, index, {"type": "input_json_delta", "partial_json": part})
    _block_stop(frames, index)
