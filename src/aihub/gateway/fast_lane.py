"""A pure-ASGI fast lane for the gateway's hottest routes.

Under load, FastAPI's routing, dependency solving and its exception and
exit-stack middleware cost about as much CPU as the gateway's own work on a
pass-through call. The lane sits inside our request middleware (so request id,
body limit, metrics and CORS still apply) and sends ``POST /v1/chat/completions``,
``POST /v1/responses`` and ``POST /v1/embeddings`` straight to the same handler
functions the FastAPI routes use, with the caller resolved the same way and
errors rendered by the app's own exception handlers. Everything else, and the
OpenAPI docs of these routes, go through FastAPI unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from aihub.gateway import openai_api, responses_api
from aihub.gateway.caller import Caller
from aihub.gateway.deps import get_caller

Handler = Callable[[Request, Caller], Awaitable[Response]]
ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]

FAST_ROUTES: dict[str, Handler] = {
    "/v1/chat/completions": openai_api.chat_completions,
    "/v1/embeddings": openai_api.embeddings,
    "/v1/responses": responses_api.create_response,
}


class GatewayFastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[str, BaseRoute | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = FAST_ROUTES.get(scope["path"])
            if handler is not None:
                await self._serve(handler, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, handler: Handler, scope: Scope, receive: Receive, send: Send
    ) -> None:
        route = self._route_for(scope)
        if route is not None:
            scope["route"] = route  # the metrics label, as FastAPI would set it
        request = Request(scope, receive)
        try:
            response = await handler(request, await get_caller(request))
        except Exception as exc:  # rendered exactly as the app renders it
            response = await _render_error(scope["app"], request, exc)
        await response(scope, receive, send)

    def _route_for(self, scope: Scope) -> BaseRoute | None:
        path = scope["path"]
        if path not in self._routes:
            routes = getattr(scope.get("app"), "routes", [])
            self._routes[path] = next(
                (r for r in routes if getattr(r, "path", None) == path), None
            )
        return self._routes[path]


async def _render_error(app: Any, request: Request, exc: Exception) -> Response:
    handlers: dict[Any, ErrorHandler] = getattr(app, "exception_handlers", {})
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            return await handler(request, exc)
    raise exc
