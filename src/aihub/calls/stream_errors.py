"""One rendering of an error that ends a stream already under way, per wire
format, so a client sees the same shape whichever route its call took:

- ``openai``: a ``data: {"error": {"message", "type", "param", "code"}}`` chunk,
  the body of an OpenAI error (``type`` OpenAI's name, ``code`` aihub's
  error type), as on /v1/chat/completions and the seed 004 chat API (whose
  stream is OpenAI's; it sends ``data: [DONE]`` after it);
- ``anthropic``: an ``event: error`` with Anthropic's error body (/v1/messages);
- ``hub``: the hub's ``event: error`` ``{"error": true, "error_message",
  "error_type"}`` (/api/threads streams; a ``done`` frame follows it).

Errors before the first byte are HTTP errors in the same bodies
(``aihub.core.error_handlers``); this module renders the same bodies as frames.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from aihub.core.error_handlers import error_body
from aihub.core.errors import AihubError

Wire = Literal["openai", "anthropic", "hub"]

_PATHS: dict[Wire, str] = {
    "openai": "/v1/chat/completions",
    "anthropic": "/v1/messages",
    "hub": "/api/threads",
}


def error_data(wire: Wire, error_type: str, message: str) -> dict[str, Any]:
    """The JSON object of the error frame of ``wire``."""
    return error_body(_PATHS[wire], error_type, message)


def error_frame(
    wire: Wire, error_type: str, message: str, *, event_id: int | None = None
) -> bytes:
    """The whole SSE frame (``event_id`` numbers hub frames)."""
    data = orjson.dumps(error_data(wire, error_type, message))
    if wire == "openai":
        return b"data: " + data + b"\n\n"
    head = b"event: error\n"
    if event_id is not None:
        head += b"id: " + str(event_id).encode() + b"\n"
    return head + b"data: " + data + b"\n\n"


def stream_error(wire: Wire, error: AihubError) -> bytes:
    """The frame that ends a ``wire`` stream with ``error``."""
    return error_frame(wire, error.error_type, error.message)
