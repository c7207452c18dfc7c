"""Gateway keys as callers: ``caller_for_key`` authenticates an ``ahk-`` token
from the process's key cache (no database round trip once the key is cached).
Unknown, revoked or expired keys, and keys of an inactive owner, are 401."""

from __future__ import annotations

from starlette.requests import Request

from aihub.gateway.caller import Caller
from aihub.runtime import runtime_of


async def caller_for_key(request: Request, token: str) -> Caller:
    return await runtime_of(request).gateway.authenticate(token)
