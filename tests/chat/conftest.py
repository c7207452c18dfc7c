"""More app instances on the same database (and Redis, when configured): a
second process, or a restarted one; and a helper to wait for a stored status."""

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

from aihub.core.settings import Settings
from aihub.main import create_app

MakeClient = Callable[..., Awaitable[httpx.AsyncClient]]

REDIS = os.environ.get("AIHUB_TEST_REDIS_URL") or os.environ.get("AIHUB_REDIS_URL")
needs_redis = pytest.mark.skipif(
    not REDIS, reason="two processes share state only through Redis"
)


@pytest.fixture
async def make_client(app: FastAPI, settings: Settings) -> AsyncIterator[MakeClient]:
    """A client of a NEW app instance (its own pool, runs and listeners).
    Depends on ``app`` so its teardown empties the tables after these close."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> httpx.AsyncClient:
            application = create_app(settings.model_copy(update=overrides))
            await stack.enter_async_context(LifespanManager(application))
            transport = httpx.ASGITransport(app=application)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://second")
            )

        yield make


async def wait_for_message(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    thread_id: int,
    message_id: int,
    *,
    until: Callable[[dict[str, Any]], bool],
    within_s: float = 10.0,
) -> dict[str, Any]:
    """Poll the thread's tree until message ``message_id`` satisfies ``until``."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        response = await client.get(f"/api/threads/{thread_id}/tree", headers=headers)
        assert response.status_code == 200, response.text
        found = [m for m in response.json()["messages"] if m["id"] == message_id]
        if found and until(found[0]):
            message: dict[str, Any] = found[0]
            return message
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"message {message_id} never matched: {found}")
        await asyncio.sleep(0.05)
