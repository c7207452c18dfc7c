"""Gateway keys as callers (built out with /api/gateway-keys/)."""

from __future__ import annotations

from starlette.requests import Request

from aihub.core.errors import UnauthorizedError
from aihub.gateway.caller import Caller


async def caller_for_key(request: Request, token: str) -> Caller:
    raise UnauthorizedError("Invalid API key")
