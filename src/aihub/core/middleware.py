"""One pure-ASGI middleware: request id, body limit, access log and metrics."""

from __future__ import annotations

import os
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aihub.core.error_handlers import error_response
from aihub.core.errors import PayloadTooLargeError
from aihub.core.metrics import HttpMetrics

log = structlog.get_logger("aihub.access")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or os.urandom(16).hex()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            response = error_response(
                scope["path"],
                413,
                "payload_too_large",
                f"Request body exceeds {self.max_body} bytes",
            )
            await response(scope, receive, send)
            return
        await self._serve(scope, receive, send, request_id)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> None:
        started = time.perf_counter()
        status = 500
        received = 0
        too_large = False
        max_body = self.max_body
        raw_id = request_id.encode()

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_body:
                    too_large = True
                    raise PayloadTooLargeError(f"Request body exceeds {max_body} bytes")
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if too_large:  # whatever the app makes of the cut body, we answer 413
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"x-request-id", raw_id))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
            if too_large:
                status = 413
                response = error_response(
                    scope["path"],
                    413,
                    "payload_too_large",
                    f"Request body exceeds {max_body} bytes",
                )
                await response(scope, receive, send)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            log.info(
                "request_finished",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
