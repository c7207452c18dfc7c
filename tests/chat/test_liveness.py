"""A Redis outage or restart is not a dead owner (issue 12, defect 4).

Two app instances (the owner of a live stream, and a sweeper) share a
redis-server of this test's own, which is killed and started again (empty)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select, update

from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.runs.hub import RunHub
from aihub.runs.orphans import recover_message
from aihub.runtime import runtime_of
from aihub.threads.models import Message
from aihub.usage.models import RequestLog
from tests.chat.helpers import add_key, make_thread, parse_sse
from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.redis_server import REDIS_SERVER, RedisServer

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")

TTL_S = 1.0


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def two_apps(
    app: FastAPI, settings: Settings, redis_server: RedisServer
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """The owner and the sweeper; sweeps run only when the test calls them."""
    overrides: dict[str, Any] = {
        "redis_url": redis_server.url(),
        "chat_heartbeat_ttl_s": TTL_S,
        "chat_heartbeat_interval_s": 0.2,
        "chat_sweep_interval_s": 3600,
    }
    async with AsyncExitStack() as stack:
        made = []
        for _ in range(2):
            application = create_app(settings.model_copy(update=overrides))
            await stack.enter_async_context(LifespanManager(application))
            made.append(application)
        yield made[0], made[1]


def _client(application: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://aihub"
    )


async def _status(application: FastAPI, message_id: int) -> str:
    async with runtime_of(application).sessionmaker() as session:
        status: str = await session.scalar(
            select(Message.status).where(Message.id == message_id)
        )
    return status


async def _usage_rows(application: FastAPI, message_id: int) -> int:
    async with runtime_of(application).sessionmaker() as session:
        rows = await session.scalars(
            select(RequestLog.id).where(RequestLog.message_id == message_id)
        )
        return len(rows.all())


async def _held_stream(
    owner: FastAPI, upstream: FakeUpstream, gate: threading.Event, secret: str
) -> tuple[httpx.AsyncClient, asyncio.Task[httpx.Response], int]:
    client = _client(owner)
    user = await make_user(client)
    await add_key(client, user, upstream, secret)
    upstream.script(secret, [Reply(text="one two three four", chunks=4, gate=gate)])
    thread = await make_thread(client, user)
    task = asyncio.create_task(
        client.post(
            f"/api/threads/{thread['id']}/stream",
            json={"content": "Count"},
            headers=user.headers,
        )
    )
    for _ in range(200):
        async with runtime_of(owner).sessionmaker() as session:
            found = await session.scalar(
                select(Message.id).where(
                    Message.thread_id == thread["id"], Message.status == "streaming"
                )
            )
        if found is not None:
            return client, task, found
        await asyncio.sleep(0.05)
    raise AssertionError("the stream never started")


async def test_an_outage_and_a_restart_of_redis_interrupt_no_live_stream(
    two_apps: tuple[FastAPI, FastAPI],
    redis_server: RedisServer,
    fake_upstream: FakeUpstream,
) -> None:
    owner, sweeper = two_apps
    hub: RunHub = runtime_of(sweeper).runs
    gate = threading.Event()
    client, task, message_id = await _held_stream(owner, fake_upstream, gate, "sk-o")
    try:
        await asyncio.sleep(TTL_S + 0.3)  # the heartbeat is set and refreshed
        assert await hub.sweep_once() == 0

        redis_server.stop()  # an outage longer than the heartbeat's TTL
        await asyncio.sleep(TTL_S * 2)
        assert await hub.sweep_once() == 0
        assert await _status(owner, message_id) == "streaming"

        redis_server.start()  # back, empty: every heartbeat key is gone
        assert await hub.sweep_once() == 0
        await asyncio.sleep(TTL_S + 0.5)  # the owner published again meanwhile
        assert await hub.sweep_once() == 0
        assert await _status(owner, message_id) == "streaming"

        gate.set()
        frames = parse_sse((await asyncio.wait_for(task, 20)).text)
    finally:
        gate.set()
        await client.aclose()
    assert frames[-1][1]["status"] == "complete"
    assert await _status(owner, message_id) == "complete"
    assert await _usage_rows(owner, message_id) == 1


async def test_after_a_redis_restart_a_dead_owner_is_found_once_a_ttl_passed(
    two_apps: tuple[FastAPI, FastAPI],
    redis_server: RedisServer,
    fake_upstream: FakeUpstream,
) -> None:
    owner, sweeper = two_apps
    hub: RunHub = runtime_of(sweeper).runs
    client = _client(owner)
    user = await make_user(client)
    thread = await make_thread(client, user)
    response = await client.post(
        f"/api/threads/{thread['id']}/messages",
        json={"role": "assistant", "content": "half"},
        headers=user.headers,
    )
    message_id = response.json()["id"]
    await client.aclose()
    async with runtime_of(owner).sessionmaker() as session:  # an owner that died
        await session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(status="streaming", provider="openai", model="gpt-4o-mini")
        )
        await session.commit()
    redis_server.stop()
    redis_server.start()
    assert await hub.sweep_once() == 0  # Redis was back for less than a TTL
    assert await _status(owner, message_id) == "streaming"
    await asyncio.sleep(TTL_S + 0.3)
    assert await hub.sweep_once() == 1
    assert await hub.sweep_once() == 0
    assert await _status(owner, message_id) == "interrupted"
    assert await _usage_rows(owner, message_id) == 1


async def test_a_run_that_ends_after_a_sweep_claimed_it_writes_no_second_usage(
    two_apps: tuple[FastAPI, FastAPI], fake_upstream: FakeUpstream
) -> None:
    owner, sweeper = two_apps
    gate = threading.Event()
    client, task, message_id = await _held_stream(owner, fake_upstream, gate, "sk-c")
    try:
        # A sweep of an older version (or a process that misread the owner)
        # claims the live message and records its usage.
        assert await recover_message(runtime_of(sweeper).sessionmaker, message_id)
        gate.set()
        frames = parse_sse((await asyncio.wait_for(task, 20)).text)
    finally:
        gate.set()
        await client.aclose()
    assert frames[-1][1]["status"] == "complete"
    assert await _status(owner, message_id) == "complete"
    assert await _usage_rows(owner, message_id) == 1
