"""/v1/chat/completions served by a provider of another wire (Anthropic)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from aihub.chat.llm import Target
from aihub.core.errors import BadRequestError
from aihub.gateway.caller import Caller


async def translated_chat_completion(
    request: Request,
    caller: Caller,
    target: Target,
    data: dict[str, Any],
    *,
    stream: bool,
    started: float,
    headers: dict[str, str],
) -> Response:
    raise BadRequestError(f"{target.provider} models are not served on this path yet")
