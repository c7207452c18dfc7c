"""The queue: priorities under a full queue, the per-user limit, jobs of a
dead worker recovered (or failed with the reason), nothing lost on restart."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from aihub.core.db import utcnow
from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.media.models import MediaJob, MediaJobEvent
from aihub.runtime import runtime_of
from tests.factories import Account, make_user
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript
from tests.media.conftest import WorkerProcess
from tests.media.helpers import add_key, read_events, submit, wait_status


async def blocked_job(
    client: httpx.AsyncClient, fake: FakeMediaUpstream, key: str
) -> tuple[Account, dict[str, object], threading.Event]:
    user = await make_user(client)
    await add_key(client, user, fake, key)
    gate = threading.Event()
    fake.script(key, MediaScript(polls=1, gate=gate))
    job = await submit(client, user)
    await wait_status(client, user, job["id"], {"running"})
    return user, job, gate


class TestPriorities:
    async def test_interactive_runs_before_normal_before_batch_under_a_full_queue(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        # two workers' slots are taken by other users' jobs held upstream
        _a, _ja, gate_a = await blocked_job(client, fake_media, "sd-block-a")
        _b, _jb, gate_b = await blocked_job(client, fake_media, "sd-block-b")
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-prio")
        fake_media.script("sd-prio", MediaScript(polls=1))
        batch = await submit(client, user, priority="batch", prompt="batch")
        normal = await submit(client, user, priority="normal", prompt="normal")
        urgent = await submit(client, user, priority="interactive", prompt="urgent")
        for job in (batch, normal, urgent):
            listed = await client.get(
                f"/api/media/jobs/{job['id']}", headers=user.headers
            )
            assert listed.json()["status"] == "queued"

        gate_a.set()
        gate_b.set()
        done = [
            await wait_status(client, user, job["id"], {"completed"})
            for job in (urgent, normal, batch)
        ]

        prompts = [r.json["prompt"] for r in fake_media.requests_to("/generate-image")]
        assert prompts[-3:] == ["urgent", "normal", "batch"]
        starts = [job["started_at"] for job in done]
        assert starts == sorted(starts)
        # one at a time for this user (its limit is 1)
        assert done[0]["finished_at"] <= done[1]["started_at"]
        assert done[1]["finished_at"] <= done[2]["started_at"]

    async def test_a_message_for_a_batch_job_starts_the_users_normal_job_first(
        self, app: FastAPI, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        """A message is only a wake-up for its user: whichever of their jobs'
        messages a free slot takes, their most urgent ready job starts. (The
        worker is called here as the queue would; with Redis it runs in the
        `aihub worker` process, whose ordering the test above covers.)"""
        worker = runtime_of(app).media.worker
        if worker is None:
            pytest.skip("with Redis the worker is its own process")
        _a, _ja, gate_a = await blocked_job(client, fake_media, "sd-order-a")
        _b, _jb, gate_b = await blocked_job(client, fake_media, "sd-order-b")
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-order")
        fake_media.script("sd-order", MediaScript(polls=1))
        normal = await submit(client, user, priority="normal", prompt="normal")
        batch = await submit(client, user, priority="batch", prompt="batch")

        await worker.runner.run(batch["id"])  # the batch job's message came first

        first = await wait_status(client, user, normal["id"], {"completed"})
        waiting = await client.get(
            f"/api/media/jobs/{batch['id']}", headers=user.headers
        )
        assert waiting.json()["status"] == "queued"
        gate_a.set()
        gate_b.set()
        second = await wait_status(client, user, batch["id"], {"completed"})
        assert first["finished_at"] <= second["started_at"]


class TestUserLimit:
    async def test_a_users_second_job_waits_while_others_users_jobs_run(
        self, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        busy, first, gate = await blocked_job(client, fake_media, "sd-busy")
        waiting = await submit(client, busy, prompt="second")
        other = await make_user(client)
        await add_key(client, other, fake_media, "sd-other")

        other_job = await submit(client, other)
        await wait_status(client, other, other_job["id"], {"completed"})

        still = await client.get(
            f"/api/media/jobs/{waiting['id']}", headers=busy.headers
        )
        assert still.json()["status"] == "queued"
        gate.set()
        await wait_status(client, busy, first["id"], {"completed"})  # type: ignore[arg-type]
        done = await wait_status(client, busy, waiting["id"], {"completed"})
        assert (
            done["started_at"]
            >= (
                await client.get(f"/api/media/jobs/{first['id']}", headers=busy.headers)
            ).json()["finished_at"]
        )


async def _orphan(app: FastAPI, user_id: int, *, attempts: int) -> int:
    """A job a worker that died had claimed: running, silent for an hour."""
    long_ago = utcnow() - timedelta(hours=1)
    async with runtime_of(app).sessionmaker() as session:
        job = MediaJob(
            user_id=user_id,
            kind="image",
            provider="superduperai",
            model="google-cloud/imagen4",
            prompt="orphan",
            params={"api_model": "google-cloud/imagen4", "count": 1},
            priority=5,
            status="running",
            stage="in_progress",
            attempts=attempts,
            worker_id="dead-host:1:abcdef",
            heartbeat_at=long_ago,
            started_at=long_ago,
        )
        session.add(job)
        await session.flush()
        for seq, name in enumerate(("queued", "started"), start=1):
            data = {"job_id": job.id, "status": "running" if seq == 2 else "queued"}
            session.add(MediaJobEvent(job_id=job.id, seq=seq, event=name, data=data))
        await session.commit()
        return job.id


class TestRecovery:
    async def test_a_dead_workers_job_is_picked_up_again(
        self, app: FastAPI, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-orphan")
        job_id = await _orphan(app, user.id, attempts=1)

        done = await wait_status(client, user, job_id, {"completed", "failed"})

        assert done["status"] == "completed"
        assert done["attempts"] == 2
        frames = await read_events(client, user, job_id)
        recovered = [data for name, data, _ in frames if name == "queued"][-1]
        assert recovered["reason"] == "worker lost"
        assert recovered["previous_worker"] == "dead-host:1:abcdef"

    async def test_a_dead_workers_job_without_attempts_left_fails_with_the_reason(
        self, app: FastAPI, client: httpx.AsyncClient, fake_media: FakeMediaUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_media, "sd-orphan2")
        job_id = await _orphan(app, user.id, attempts=3)

        done = await wait_status(client, user, job_id, {"completed", "failed"})

        assert done["status"] == "failed"
        assert done["error_type"] == "api_error"
        assert "stopped responding" in done["error_message"]
        frames = await read_events(client, user, job_id)
        assert frames[-1][0] == "failed"
        assert fake_media.requests == []

    async def test_a_killed_worker_process_job_is_recovered_by_another(
        self,
        client: httpx.AsyncClient,
        fake_media: FakeMediaUpstream,
        media_worker_process: WorkerProcess | None,
    ) -> None:
        if media_worker_process is None:
            pytest.skip("a separate worker process runs with Redis only")
        user, job, gate = await blocked_job(client, fake_media, "sd-killed")
        url = f"/api/media/jobs/{job['id']}"
        async with asyncio.timeout(30):
            while True:  # until it follows the upstream job
                if (await client.get(url, headers=user.headers)).json()["percent"]:
                    break
                await asyncio.sleep(0.02)

        media_worker_process.kill()
        media_worker_process.restart()
        gate.set()
        done = await wait_status(client, user, job["id"], {"completed", "failed"})  # type: ignore[arg-type]

        assert done["status"] == "completed"
        assert done["attempts"] == 2
        assert (
            len(fake_media.requests_to("/generate-image")) == 1
        )  # resumed, not paid twice
        frames = await read_events(client, user, job["id"])  # type: ignore[arg-type]
        assert any(
            d.get("reason") == "worker lost" for n, d, _ in frames if n == "queued"
        )


class TestRestart:
    async def test_queued_jobs_survive_an_api_restart(
        self,
        settings: Settings,
        fake_media: FakeMediaUpstream,
        media_worker_process: WorkerProcess | None,
        app: FastAPI,
    ) -> None:
        if media_worker_process is not None:
            pytest.skip("with Redis the separate worker takes the job at once")
        del app  # the fixture empties the tables afterwards
        submitter = create_app(
            settings.model_copy(update={"media_embedded_worker": False})
        )
        async with LifespanManager(submitter):
            transport = httpx.ASGITransport(app=submitter)
            async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
                user = await make_user(c)
                await add_key(c, user, fake_media, "sd-restart")
                job = await submit(c, user)
        assert fake_media.requests == []

        restarted = create_app(settings)
        async with LifespanManager(restarted):
            transport = httpx.ASGITransport(app=restarted)
            async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
                done = await wait_status(c, user, job["id"], {"completed"})

        assert done["attempts"] == 1
        assert len(fake_media.requests_to("/generate-image")) == 1
