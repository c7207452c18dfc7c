"""Renders every error in the shape its path promises (seed 003, OpenAI, Anthropic)."""

from __future__ import annotations

from typing import Any, cast

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from aihub.core.errors import AihubError

log = structlog.get_logger(__name__)

_OPENAI_TYPES = {
    "validation_error": "invalid_request_error",
    "unauthorized": "authentication_error",
    "forbidden": "permission_error",
    "not_found": "not_found_error",
    "model_not_found": "invalid_request_error",
    "rate_limit": "rate_limit_error",
    "billing": "insufficient_quota",
    "api_key_not_found": "invalid_request_error",
    "invalid_context": "invalid_request_error",
    "payload_too_large": "invalid_request_error",
    "conflict": "invalid_request_error",
    "api_error": "api_error",
    "unavailable": "api_error",
}
_ANTHROPIC_TYPES = {
    "validation_error": "invalid_request_error",
    "unauthorized": "authentication_error",
    "forbidden": "permission_error",
    "not_found": "not_found_error",
    "model_not_found": "not_found_error",
    "rate_limit": "rate_limit_error",
    "billing": "billing_error",
    "payload_too_large": "request_too_large",
    "unavailable": "overloaded_error",
    "api_key_not_found": "invalid_request_error",
    "invalid_context": "invalid_request_error",
    "conflict": "invalid_request_error",
}
_STATUS_TYPES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "rate_limit",
}


def error_body(
    path: str, error_type: str, message: str, details: Any = None
) -> dict[str, Any]:
    """The error object for a request path: /v1 speaks OpenAI or Anthropic."""
    if path.startswith("/v1/messages"):
        kind = _ANTHROPIC_TYPES.get(error_type, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    if path.startswith("/v1/"):
        return {
            "error": {
                "message": message,
                "type": _OPENAI_TYPES.get(error_type, error_type),
                "param": None,
                "code": error_type,
            }
        }
    body: dict[str, Any] = {
        "error": True,
        "error_message": message,
        "error_type": error_type,
    }
    if details is not None:
        body["details"] = details
    return body


def error_response(
    path: str,
    status_code: int,
    error_type: str,
    message: str,
    *,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(error_body(path, error_type, message, details)),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        details.append({"field": ".".join(loc), "message": err.get("msg", "")})
    return details


def _describe(details: list[dict[str, Any]]) -> str:
    parts = [f"{d['field']}: {d['message']}" for d in details[:5]]
    return "Invalid request: " + "; ".join(parts) if parts else "Invalid request"


async def _aihub_error(request: Request, exc: Exception) -> Response:
    exc = cast(AihubError, exc)
    if exc.status_code >= 500:
        log.error("request_failed", error_type=exc.error_type, error=exc.message)
    return error_response(
        request.url.path,
        exc.status_code,
        exc.error_type,
        exc.message,
        details=exc.details,
        headers=exc.headers,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    exc = cast(RequestValidationError, exc)
    details = _validation_details(exc)
    return error_response(
        request.url.path, 422, "validation_error", _describe(details), details=details
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    exc = cast(StarletteHTTPException, exc)
    error_type = _STATUS_TYPES.get(exc.status_code, "api_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    return error_response(
        request.url.path,
        exc.status_code,
        error_type,
        message,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    """SQLSTATE class 22 (data exception: a NUL byte, a value out of range) is
    bad input that slipped past validation; anything else is our fault."""
    sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", "") or "")
    if sqlstate.startswith("22"):
        return error_response(
            request.url.path,
            422,
            "validation_error",
            "Invalid value: the request contains characters or numbers the "
            "database cannot store",
        )
    return await _unexpected_error(request, exc)


BUSY_RETRY_AFTER_S = 1


async def _pool_timeout(request: Request, exc: Exception) -> Response:
    """Every pooled database connection stayed busy for the pool timeout: a fast
    503 the client may retry, instead of a stall or a 500."""
    log.warning("database_pool_exhausted", path=request.url.path)
    return error_response(
        request.url.path,
        503,
        "unavailable",
        "The server is busy: no database connection is free. Retry shortly.",
        headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled_error", path=request.url.path)
    return error_response(request.url.path, 500, "api_error", "Internal server error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AihubError, _aihub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _pool_timeout)
    app.add_exception_handler(Exception, _unexpected_error)
