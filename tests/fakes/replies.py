"""What a test scripts (Reply) and what the fake upstream records."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.wire import FakeUsage, ToolCallSpec


@dataclass
class Reply:
    """One scripted answer to one request (any path) of one key.

    Content: ``text`` (None echoes ``"echo: <last user text>"``; empty with
    ``tool_calls``), ``tool_calls``, ``usage`` (estimated when None),
    ``finish_reason`` (OpenAI's names; Anthropic's are derived), ``model``,
    ``chunks`` (text deltas when streaming). ``stream_usage``: None sends the
    OpenAI usage chunk only when include_usage is asked, False never, True always.
    ``body`` replaces the reply body (any status); ``raw_stream`` is an SSE reply
    of any shape, written frame by frame.

    Failures: ``status`` >= 300 answers the provider's error body (``error_code``
    "insufficient_quota" or "context_length_exceeded" picks that text;
    ``error_message`` overrides it) with ``retry_after`` and ``headers``;
    ``delay`` before the headers; ``chunk_delay`` before every content chunk;
    ``stall_s`` once before content chunk ``stall_after_chunks`` (0-based);
    ``gate`` (a threading.Event) waited for before content chunk
    ``gate_after_chunks``; ``drop_after_chunks`` cuts the connection after that
    many content chunks; ``stream_error`` (an error type) sends an SSE error
    event instead of the end of the stream.
    """

    text: str | None = None
    status: int = 200
    chunks: int = 3
    chunk_delay: float = 0.0
    delay: float = 0.0
    retry_after: float | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    body: bytes | dict[str, Any] | None = None
    usage: FakeUsage | None = None
    stream_usage: bool | None = None
    tool_calls: list[ToolCallSpec] | None = None
    finish_reason: str | None = None
    model: str | None = None
    drop_after_chunks: int | None = None
    stall_after_chunks: int | None = None
    stall_s: float = 0.0
    gate: threading.Event | None = None
    gate_after_chunks: int = 1
    stream_error: str | None = None
    raw_stream: list[bytes] | None = None


@dataclass
class RecordedRequest:
    """One request as received; ``headers`` have lower-case names."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    key: str
    wire: str
    outcome: str = "pending"
    """pending, complete, error (non-2xx), dropped, client_disconnected."""


class Frames:
    """The frames of one stream; content frames count for the failure knobs."""

    def __init__(self) -> None:
        self.items: list[tuple[bytes, bool]] = []

    def add(self, frame: bytes, *, content: bool = False) -> None:
        self.items.append((frame, content))
