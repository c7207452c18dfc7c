"""The key pool of the test app, and extra app instances on the same database
(and Redis, when configured): a second process, or a restarted one.

The lifespan starts each app's pool; these fixtures hand it out."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.provider_keys.pool import KeyPool
from aihub.providers.http import close_http_session, create_http_session
from aihub.runtime import runtime_of

MakeApp = Callable[..., Awaitable[FastAPI]]

_REDIS = os.environ.get("AIHUB_TEST_REDIS_URL") or os.environ.get("AIHUB_REDIS_URL")
# Health shared by two processes needs Redis; in-process state is per process.
collect_ignore = [] if _REDIS else ["test_pool_shared.py"]


def pool_of(application: FastAPI) -> KeyPool:
    pool: KeyPool = runtime_of(application).key_pool
    return pool


@pytest.fixture
def pool(app: FastAPI) -> KeyPool:
    return pool_of(app)


@pytest.fixture
async def make_app(app: FastAPI, settings: Settings) -> AsyncIterator[MakeApp]:
    """Depends on ``app`` so its teardown empties the tables after these close."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> FastAPI:
            application = create_app(settings.model_copy(update=overrides))
            await stack.enter_async_context(LifespanManager(application))
            return application

        yield make


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    session = create_http_session()
    yield session
    await close_http_session(session)
