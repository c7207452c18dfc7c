"""Database connections under concurrent streams (issue 12, defect 2): no
request holds a pooled connection while it waits for another, and a saturated
pool answers a fast 503 instead of a stall."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from fastapi import FastAPI

from aihub.core.db import PoolLimits, build_engine, build_sessionmaker
from aihub.core.settings import Settings
from aihub.runtime import runtime_of
from tests.chat.helpers import add_key, get_thread, parse_sse
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply

STREAMS = 12


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Two connections for the whole process: any request that holds one while
    it needs another would deadlock here."""
    return settings.model_copy(
        update={"db_pool_size": 2, "db_max_overflow": 0, "db_pool_timeout_s": 20.0}
    )


class TestCreateAndStreamPool:
    async def test_many_concurrent_creates_all_complete_on_a_small_pool(
        self, live_server: LiveServer, fake_upstream: FakeUpstream
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
            user = await make_user(client)
            other = await make_user(client)
            await add_key(client, user, fake_upstream, "sk-pool-1")
            fake_upstream.script(
                "sk-pool-1",
                default=Reply(text="one two three four five", chunk_delay=0.2),
            )

            async def create(n: int) -> list[tuple[str, dict[str, object], int]]:
                response = await client.post(
                    "/api/threads/stream",
                    json={
                        "title": f"t{n}",
                        "provider": "openai",
                        "model": "gpt-4o-mini",
                        "initial_message": f"question {n}",
                    },
                    headers=user.headers,
                )
                assert response.status_code == 200, response.text
                return parse_sse(response.text)

            streams = [asyncio.create_task(create(n)) for n in range(STREAMS)]
            await fake_upstream.wait_for_requests(2, within_s=20)
            me = await client.get("/api/users/me", headers=other.headers)
            results = await asyncio.gather(*streams)

        assert me.status_code == 200, me.text
        for frames in results:
            events = [event for event, _, _ in frames]
            assert events[0] == "thread"
            assert "error" not in events
            done = frames[-1]
            assert done[0] == "done"
            assert done[1]["status"] == "complete"

    async def test_every_stored_question_has_its_answer(
        self, live_server: LiveServer, fake_upstream: FakeUpstream
    ) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
            user = await make_user(client)
            await add_key(client, user, fake_upstream, "sk-pool-2")
            fake_upstream.script(
                "sk-pool-2", default=Reply(text="alpha beta", chunk_delay=0.1)
            )

            async def create(n: int) -> int:
                response = await client.post(
                    "/api/threads/stream",
                    json={
                        "provider": "openai",
                        "model": "gpt-4o-mini",
                        "initial_message": f"q{n}",
                    },
                    headers=user.headers,
                )
                assert response.status_code == 200, response.text
                thread_id: int = parse_sse(response.text)[0][1]["id"]  # type: ignore[assignment]
                return thread_id

            ids = await asyncio.gather(*(create(n) for n in range(STREAMS)))
            details = [await get_thread(client, user, i) for i in ids]
        for detail in details:
            roles = [(m["role"], m["status"]) for m in detail["messages"]]
            assert roles == [("user", "complete"), ("assistant", "complete")]
            assert detail["messages"][1]["content"] == "alpha beta"


class TestSaturatedPool:
    async def test_a_request_that_finds_no_free_connection_gets_503(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        # Hold every connection of a one-connection pool, as stuck requests would.
        original = runtime_of(app)
        engine = build_engine(
            original.settings.resolved_database_url, PoolLimits(1, 0, timeout_s=0.2)
        )
        app.state.runtime = dataclasses.replace(
            original, sessionmaker=build_sessionmaker(engine)
        )
        try:
            async with engine.connect():
                response = await client.get("/api/users/me", headers=user.headers)
        finally:
            app.state.runtime = original
            await engine.dispose()
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        body = response.json()
        assert body["error"] is True
        assert body["error_type"] == "unavailable"
        assert "busy" in body["error_message"]
