"""Anthropic's Messages API under /v1 (gateway key or JWT, as ``x-api-key``
or a bearer token). The body is read raw: the pass-through sends its bytes on
untouched, so no Pydantic model parses it (messages_service validates what a
translated call needs). Errors take Anthropic's shape
(``{"type": "error", "error": {...}}``, core/error_handlers.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aihub.gateway import messages_service
from aihub.gateway.deps import GatewayCaller
from aihub.runtime import runtime_of

router = APIRouter(prefix="/v1", tags=["gateway"])

_ERRORS: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid request (Anthropic's error shape)"},
    401: {"description": "Missing or invalid key"},
    403: {"description": "The gateway key may not use this model"},
    404: {"description": "Unknown model"},
    429: {"description": "Rate limited"},
}


@router.post("/messages", summary="Create a message (Anthropic)", responses=_ERRORS)
async def create_message(request: Request, caller: GatewayCaller) -> Response:
    return await messages_service.create_message(
        runtime_of(request),
        caller=caller,
        raw=await request.body(),
        headers=request.headers,
    )


@router.post(
    "/messages/count_tokens",
    summary="Count the input tokens of a message (Anthropic)",
    responses=_ERRORS,
)
async def count_tokens(request: Request, caller: GatewayCaller) -> Response:
    return await messages_service.count_tokens(
        runtime_of(request),
        caller=caller,
        raw=await request.body(),
        headers=request.headers,
    )
