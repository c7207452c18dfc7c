"""Media with no worker alive (issue 12, defect 7): API processes recover a
dead worker's job themselves, and the submit answer, the job's events,
/ready and /api/status say that no worker has been seen.

The API process here runs no worker and uses a redis-server of the test's
own, so that no other test's worker is seen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from aihub.core.db import utcnow
from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.media import presence
from aihub.media.models import MediaJob, MediaJobEvent
from aihub.runtime import runtime_of
from tests.factories import make_user
from tests.fakes.media_upstream import FakeMediaUpstream
from tests.media.helpers import add_key, submit
from tests.redis_server import REDIS_SERVER, RedisServer

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")


@pytest.fixture
async def api_only(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    """An API process with no worker anywhere (``app``: tables emptied after)."""
    del app
    server = RedisServer(tmp_path / "redis")
    server.start()
    overrides = {
        "redis_url": server.url(),
        "media_embedded_worker": False,
        "media_worker_seen_ttl_s": 5.0,
        # Quicker than any worker's sweeper (3 s, with PostgreSQL + Redis the
        # session's worker shares the database): this process finds it first.
        "media_stale_after_s": 0.5,
    }
    application = create_app(settings.model_copy(update=overrides))
    try:
        async with LifespanManager(application):
            yield application
    finally:
        server.stop()


async def _events(
    application: FastAPI, job_id: int
) -> list[tuple[str, dict[str, Any]]]:
    """The job's stored events (its SSE stream replays them; it would wait for
    the end of a job that waits for a worker)."""
    async with runtime_of(application).sessionmaker() as session:
        rows = await session.scalars(
            select(MediaJobEvent)
            .where(MediaJobEvent.job_id == job_id)
            .order_by(MediaJobEvent.seq)
        )
        return [(row.event, dict(row.data)) for row in rows.all()]


def _client(application: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://aihub"
    )


async def test_a_submit_with_no_worker_says_the_job_will_wait(
    api_only: FastAPI, fake_media: FakeMediaUpstream
) -> None:
    async with _client(api_only) as client:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-noworker")
        job = await submit(client, user)
        assert job["status"] == "queued"
        assert "no media worker has been seen" in job["warning"]
        frames = await _events(api_only, job["id"])
        assert frames[0][0] == "queued"
        assert "no media worker" in frames[0][1]["warning"]
        listed = await client.get(f"/api/media/jobs/{job['id']}", headers=user.headers)
        assert "warning" not in listed.json()  # GET keeps its shape
        ready = await client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["media_worker"]["status"] == "none_seen"
        assert any("no media worker" in w for w in ready.json()["warnings"])
        status = await client.get("/api/status", headers=user.headers)
        assert status.status_code == 200
        assert status.json()["media_worker"]["status"] == "none_seen"

        # A worker's heartbeat (what ``aihub worker`` publishes) clears it.
        await presence.publish(runtime_of(api_only).infra.state, "host:1:abc")
        job = await submit(client, user)
        assert job["warning"] is None
        ready = (await client.get("/ready")).json()
        assert ready["media_worker"]["status"] == "ok"
        assert "warnings" not in ready


async def test_an_api_process_requeues_the_job_of_a_dead_worker(
    api_only: FastAPI, fake_media: FakeMediaUpstream
) -> None:
    async with _client(api_only) as client:
        user = await make_user(client)
        long_ago = utcnow() - timedelta(seconds=0.6)
        async with runtime_of(api_only).sessionmaker() as session:
            job = MediaJob(
                user_id=user.id,
                kind="image",
                provider="superduperai",
                model="google-cloud/imagen4",
                prompt="orphan",
                params={"api_model": "google-cloud/imagen4", "count": 1},
                priority=5,
                status="running",
                stage="in_progress",
                attempts=1,
                worker_id="dead-host:1:abcdef",
                heartbeat_at=long_ago,
                started_at=long_ago,
            )
            session.add(job)
            await session.flush()
            session.add(
                MediaJobEvent(
                    job_id=job.id,
                    seq=1,
                    event="started",
                    data={"job_id": job.id, "status": "running"},
                )
            )
            await session.commit()
            job_id = job.id
        url = f"/api/media/jobs/{job_id}"
        async with asyncio.timeout(20):
            while True:
                now = (await client.get(url, headers=user.headers)).json()
                if now["status"] != "running":
                    break
                await asyncio.sleep(0.1)
        assert now["status"] == "queued"
        frames = await _events(api_only, job_id)
        requeued = frames[-1][1]
        assert frames[-1][0] == "queued"
        assert requeued["reason"] == "worker lost"
        assert "no media worker" in requeued["warning"]
