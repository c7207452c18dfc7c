"""An answer's final write is tried again when the database is busy for a
moment (chat/runs.py, `_store_retrying`): a finished answer never stays
`streaming` with only its last flushed text because one write met a lock.

SQLite only: another connection holds the database's write lock while the
answer ends, longer than the (shortened) busy timeout of the app's connections."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from aihub.core.settings import Settings
from aihub.runtime import runtime_of
from tests.chat.helpers import add_key, make_thread, parse_sse
from tests.factories import make_user
from tests.fakes.replies import Reply
from tests.fakes.upstream import FakeUpstream

ANSWER = "alpha beta gamma delta"


def _short_busy_timeout(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA busy_timeout=100")
    cursor.close()


async def test_the_final_write_waits_out_a_locked_database(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    fake_upstream: FakeUpstream,
) -> None:
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        pytest.skip("a held write lock with a short busy timeout: SQLite")
    engine = runtime_of(app).engine
    event.listen(engine.sync_engine, "connect", _short_busy_timeout)
    await engine.dispose()  # new connections get the short timeout
    gate = threading.Event()
    user = await make_user(client)
    await add_key(client, user, fake_upstream, "sk-retry-1")
    fake_upstream.script("sk-retry-1", [Reply(text=ANSWER, chunks=4, gate=gate)])
    thread = await make_thread(client, user)
    task = asyncio.create_task(
        client.post(
            f"/api/threads/{thread['id']}/stream",
            json={"content": "Tell me"},
            headers=user.headers,
        )
    )
    await fake_upstream.wait_for_requests(1)
    await asyncio.sleep(0.3)  # the question and the empty answer are committed
    holder = sqlite3.connect(url.split("///", 1)[1], timeout=30)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held
        gate.set()  # the answer ends now and tries its final write
        await asyncio.sleep(1.2)  # its first tries meet the lock
    finally:
        holder.rollback()
        holder.close()
    frames = parse_sse((await asyncio.wait_for(task, 30)).text)
    assert frames[-1][1]["status"] == "complete"
    detail = await client.get(f"/api/threads/{thread['id']}", headers=user.headers)
    answer = detail.json()["messages"][-1]
    assert (answer["status"], answer["content"]) == ("complete", ANSWER)
