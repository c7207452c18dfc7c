"""The gateway's caller as a FastAPI dependency (see caller.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from aihub.access.deps import check_user
from aihub.auth.deps import get_current_user
from aihub.core.errors import UnauthorizedError
from aihub.gateway.caller import GATEWAY_KEY_PREFIX, Caller, credential_of
from aihub.gateway.keys.auth import caller_for_key
from aihub.runtime import runtime_of

_BEARER = {"WWW-Authenticate": "Bearer"}


async def get_caller(request: Request) -> Caller:
    token = credential_of(request)
    if token is None:
        raise UnauthorizedError("Missing API key or bearer token", headers=_BEARER)
    if token.startswith(GATEWAY_KEY_PREFIX):
        return await caller_for_key(request, token)
    runtime = runtime_of(request)
    async with runtime.sessionmaker() as session:
        user = await get_current_user(session, runtime.secret_key, token)
    check_user(user, request.method, request.url.path)  # the fast lane's too
    return Caller(user_id=user.id, is_admin=user.is_admin)


GatewayCaller = Annotated[Caller, Depends(get_caller)]
