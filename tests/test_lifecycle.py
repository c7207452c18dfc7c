"""Shutdown closes the whole runtime through its exit stack: work under way at
that moment ends stored (or cleanly cancelled), what follows it (a gateway
key's charge) is done and written, and no task of the app is left behind."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from aihub.core.db import build_engine, build_sessionmaker
from aihub.core.settings import Settings
from aihub.gateway.models import GatewayKey
from aihub.main import create_app
from aihub.runtime import RuntimeNotStartedError, runtime_of
from aihub.threads.models import Message
from tests.chat.helpers import add_key
from tests.conftest import LIFESPAN_TIMEOUT_S, _empty_tables, _flush_redis
from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply

SECRET = "sk-shutdown-1"


@pytest.fixture
async def tables_emptied(
    database_url: str, redis_url: str | None
) -> AsyncIterator[None]:
    """This test runs its own app (closed mid-test); its data goes afterwards."""
    yield
    await _empty_tables(database_url)
    if redis_url:
        await _flush_redis(redis_url)


async def _stored(database_url: str) -> tuple[list[Message], list[GatewayKey]]:
    """The answers and gateway keys as the database has them (own engine: the
    app's is disposed)."""
    engine = build_engine(database_url)
    try:
        async with build_sessionmaker(engine)() as session:
            answers = await session.scalars(
                select(Message).where(Message.role == "assistant")
            )
            keys = await session.scalars(select(GatewayKey))
            return list(answers), list(keys)
    finally:
        await engine.dispose()


async def _streaming_answer_with_text(application: FastAPI) -> None:
    sessionmaker = runtime_of(application).sessionmaker
    async with asyncio.timeout(20):
        while True:
            async with sessionmaker() as session:
                answer = await session.scalar(
                    select(Message).where(
                        Message.role == "assistant",
                        Message.status == "streaming",
                        Message.content != "",
                    )
                )
            if answer is not None:
                return
            await asyncio.sleep(0.05)


@pytest.mark.usefixtures("tables_emptied")
async def test_shutdown_mid_stream_stores_the_answer_charges_the_key_and_leaves_no_task(
    settings: Settings, database_url: str, fake_upstream: FakeUpstream
) -> None:
    before = asyncio.all_tasks()
    gate = threading.Event()
    application = create_app(settings)
    try:
        async with LifespanManager(
            application,
            startup_timeout=LIFESPAN_TIMEOUT_S,
            shutdown_timeout=LIFESPAN_TIMEOUT_S,
        ) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://aihub", timeout=30
            ) as client:
                user = await make_user(client)
                await add_key(client, user, fake_upstream, SECRET)
                created = await client.post(
                    "/api/gateway-keys/", json={"name": "ci"}, headers=user.headers
                )
                gateway_key = created.json()["key"]
                fake_upstream.script(
                    SECRET, [Reply(text="alpha beta gamma delta", chunks=4, gate=gate)]
                )
                # Seed 004, streamed, with a gateway key: a run, its answer
                # keeper, and the key's charge waiting for the run's end.
                call = asyncio.create_task(
                    client.post(
                        "/api/chat",
                        json={"message": "Go", "model": "gpt-4o-mini", "stream": True},
                        headers={"Authorization": f"Bearer {gateway_key}"},
                    )
                )
                await _streaming_answer_with_text(application)
            # the lifespan ends here, the answer still held at the gate
        reply = await asyncio.wait_for(call, 30)
    finally:
        gate.set()
    assert reply.status_code == 200
    assert reply.text.rstrip().endswith("data: [DONE]")
    with pytest.raises(RuntimeNotStartedError):
        runtime_of(application)
    left = [
        task
        for task in asyncio.all_tasks() - before
        if not task.done() and task is not asyncio.current_task()
    ]
    assert left == []
    answers, keys = await _stored(database_url)
    assert [(a.status, a.meta_data.get("reason")) for a in answers] == [
        ("interrupted", "shutdown")
    ]
    assert answers[0].content == "alpha "
    assert answers[0].meta_data["cost"] > 0
    # charged after the run ended, and written before the gateway closed
    assert [k.spend_usd for k in keys] == [pytest.approx(answers[0].meta_data["cost"])]


_WITHOUT_REDIS = """
import asyncio, json, sys
from asgi_lifespan import LifespanManager
from aihub.main import create_app
from aihub.migrate import upgrade
from aihub.core.settings import Settings

upgrade(Settings().resolved_database_url)
async def main():
    async with LifespanManager(create_app()):
        loaded = sorted({m.split(".")[0] for m in sys.modules})
    print(json.dumps(loaded))
asyncio.run(main())
"""


def test_a_hub_without_redis_never_loads_redis_py(tmp_path: Path) -> None:
    """redis-py costs ~20 MiB of every process: without AIHUB_REDIS_URL the
    whole runtime starts and stops without importing it (the Redis backends,
    the media queue's Redis broker and the Redis error types load lazily)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AIHUB_REDIS_URL", "AIHUB_DATABASE_URL")
    }
    env["AIHUB_DATA_DIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_REDIS],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "aiosqlite" in loaded  # the runtime did open its database
    assert "redis" not in loaded
