"""Shared by the gateway key tests: tiny routes that authenticate with
``get_caller`` and call the limits (added to the TEST apps only: /v1 is not
ours), the app's gateway runtime, and second app instances on the same
database and Redis."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from aihub.core.settings import Settings
from aihub.gateway.deps import GatewayCaller
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.gateway.limits import check_request, record_usage
from aihub.main import create_app
from aihub.runtime import runtime_of
from tests.factories import Account

REDIS = os.environ.get("AIHUB_TEST_REDIS_URL") or os.environ.get("AIHUB_REDIS_URL")
needs_redis = pytest.mark.skipif(
    not REDIS, reason="two app instances share keys and limits only through Redis"
)

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]


class CallBody(BaseModel):
    model: str = "gpt-4o-mini"
    tokens: int = 0


class UsageBody(BaseModel):
    tokens: int = 0
    cost: float = 0.0


def add_test_routes(application: FastAPI) -> None:
    async def whoami(caller: GatewayCaller) -> dict[str, Any]:
        return {
            "user_id": caller.user_id,
            "is_admin": caller.is_admin,
            "key_id": caller.gateway_key_id,
            "models": list(caller.key.models) if caller.key else None,
        }

    async def call(body: CallBody, caller: GatewayCaller) -> JSONResponse:
        headers = await check_request(
            runtime_of(application).gateway, caller, body.model, body.tokens
        )
        return JSONResponse({"ok": True}, headers=headers)

    async def usage(body: UsageBody, caller: GatewayCaller) -> dict[str, bool]:
        await record_usage(
            runtime_of(application).gateway, caller, body.tokens, body.cost
        )
        return {"ok": True}

    application.add_api_route("/test/whoami", whoami, methods=["GET"])
    application.add_api_route("/test/call", call, methods=["POST"])
    application.add_api_route("/test/usage", usage, methods=["POST"])


@pytest.fixture
def runtime(app: FastAPI) -> GatewayRuntime:
    """The test app's gateway runtime (its test routes added)."""
    add_test_routes(app)
    return runtime_of(app).gateway


@pytest.fixture
async def make_client(
    app: FastAPI, runtime: GatewayRuntime, settings: Settings
) -> AsyncIterator[MakeClient]:
    """A client of a NEW app instance (another process, as far as the cache and
    the flusher go). Depends on ``app`` so its teardown empties the tables."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> httpx.AsyncClient:
            application = create_app(settings.model_copy(update=overrides))
            add_test_routes(application)
            await stack.enter_async_context(LifespanManager(application))
            transport = httpx.ASGITransport(app=application)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://second")
            )

        yield make


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create_key(
    client: httpx.AsyncClient, owner: Account, **fields: Any
) -> dict[str, Any]:
    body = {"name": "ci", **fields}
    response = await client.post("/api/gateway-keys/", json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def eventually_status(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    status: int,
    *,
    within_s: float = 10.0,
    **kwargs: Any,
) -> httpx.Response:
    """Repeat a request until it answers ``status`` (a change in another
    process arrives through the event bus)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        response = await client.request(method, url, **kwargs)
        if response.status_code == status:
            return response
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still {response.status_code}: {response.text}")
        await asyncio.sleep(0.02)
