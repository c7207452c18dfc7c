"""Stored /v1 calls (issue 12, defect 3): the question is stored before the
upstream call and the answer while it streams, so a crash loses neither."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from aihub.core.db import build_engine
from aihub.core.settings import Settings
from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.ops.test_serve import AIHUB, _free_port, _wait_healthy

ANSWER = "alpha beta gamma delta"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"chat_flush_interval_s": 0.1})


async def _thread(
    http: httpx.AsyncClient, user: Account, thread_id: int
) -> dict[str, Any]:
    response = await http.get(f"/api/threads/{thread_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    thread: dict[str, Any] = response.json()
    return thread


async def _until(
    fetch: Callable[[], Any], check: Callable[[Any], bool], within_s: float = 15.0
) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        value = await fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never matched: {value}")
        await asyncio.sleep(0.05)


def _turns(thread: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(m["role"], m["content"], m["status"]) for m in thread["messages"]]


class TestStoredStream:
    async def test_question_and_partial_answer_are_stored_while_streaming(
        self, live_server: LiveServer, fake_upstream: FakeUpstream
    ) -> None:
        gate = threading.Event()
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
            user = await make_user(http)
            await add_key(http, user, fake_upstream, "sk-keep-1")
            fake_upstream.script("sk-keep-1", [Reply(text=ANSWER, chunks=4, gate=gate)])
            try:
                async with http.stream(
                    "POST",
                    "/v1/chat/completions",
                    json={
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": "Count"}],
                        "stream": True,
                        "store": True,
                    },
                    headers=user.headers,
                ) as response:
                    assert response.status_code == 200
                    thread_id = int(response.headers["x-aihub-thread"])
                    partial = await _until(
                        lambda: _thread(http, user, thread_id),
                        lambda t: (
                            len(t["messages"]) == 2
                            and t["messages"][1]["content"] != ""
                        ),
                    )
                    gate.set()
                    _ = [line async for line in response.aiter_lines()]
            finally:
                gate.set()
            final = await _until(
                lambda: _thread(http, user, thread_id),
                lambda t: t["messages"][1]["status"] != "streaming",
            )
        assert _turns(partial) == [
            ("user", "Count", "complete"),
            ("assistant", "alpha ", "streaming"),
        ]
        assert _turns(final) == [
            ("user", "Count", "complete"),
            ("assistant", ANSWER, "complete"),
        ]

    async def test_a_failed_upstream_call_leaves_the_answer_in_error(
        self, live_server: LiveServer, fake_upstream: FakeUpstream
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
            user = await make_user(http)
            await add_key(http, user, fake_upstream, "sk-keep-2")
            fake_upstream.script("sk-keep-2", default=Reply(status=400))
            response = await http.post(
                "/v1/chat/completions",
                json={
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": "Fail"}],
                    "store": True,
                },
                headers=user.headers,
            )
            assert response.status_code == 400
            threads = await http.get("/api/threads/", headers=user.headers)
            (listed,) = threads.json()
            thread = await _thread(http, user, listed["id"])
        roles = [(m["role"], m["content"], m["status"]) for m in thread["messages"]]
        assert roles == [("user", "Fail", "complete"), ("assistant", "", "error")]
        assert thread["messages"][1]["meta_data"]["error"]["error_type"]


async def _db_turns(url: str) -> list[tuple[str, str, str]]:
    engine = build_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT role, content, status FROM messages ORDER BY id")
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        await engine.dispose()


def _serve(tmp_path: Path, port: int, database_url: str) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "SENTRY"))
    }
    env.update(
        AIHUB_HOST="127.0.0.1",
        AIHUB_PORT=str(port),
        AIHUB_DATA_DIR=str(tmp_path / "kill-data"),
        AIHUB_DATABASE_URL=database_url,
        AIHUB_SECRET_KEY="kill-test-secret-key-long-enough-for-hs256",
        AIHUB_CHAT_FLUSH_INTERVAL_S="0.1",
        AIHUB_OUTBOUND_ALLOW="127.0.0.1",  # the stand-in provider is on loopback
    )
    log = (tmp_path / "serve.log").open("ab")
    process = subprocess.Popen(
        [AIHUB, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    return process


def test_kill_9_mid_stream_keeps_question_and_partial_answer(
    tmp_path: Path, fake_upstream: FakeUpstream
) -> None:
    """A real `aihub serve` killed with SIGKILL during a stored /v1 stream; the
    next start marks the answer interrupted (SQLite here; the fault suite
    repeats it on PostgreSQL + Redis)."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'kill.db'}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    gate = threading.Event()
    process = _serve(tmp_path, port, database_url)
    try:
        _wait_healthy(url, process)

        async def stream_then_kill() -> int:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                user = await make_user(http)
                await add_key(http, user, fake_upstream, "sk-kill-1")
                fake_upstream.script(
                    "sk-kill-1", [Reply(text=ANSWER, chunks=4, gate=gate)]
                )
                async with http.stream(
                    "POST",
                    "/v1/chat/completions",
                    json={
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": "Count"}],
                        "stream": True,
                        "store": True,
                    },
                    headers=user.headers,
                ) as response:
                    assert response.status_code == 200
                    await _until(
                        lambda: _db_turns(database_url),
                        lambda rows: len(rows) == 2 and rows[1][1] != "",
                    )
                    process.send_signal(signal.SIGKILL)
                    process.wait(timeout=10)
                    with pytest.raises(httpx.HTTPError):
                        _ = [line async for line in response.aiter_lines()]
            return 0

        asyncio.run(stream_then_kill())
    finally:
        gate.set()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    after_kill = asyncio.run(_db_turns(database_url))
    assert after_kill == [
        ("user", "Count", "complete"),
        ("assistant", "alpha ", "streaming"),
    ]
    restarted = _serve(tmp_path, port, database_url)
    try:
        _wait_healthy(url, restarted)
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)
    assert asyncio.run(_db_turns(database_url)) == [
        ("user", "Count", "complete"),
        ("assistant", "alpha ", "interrupted"),
    ]
