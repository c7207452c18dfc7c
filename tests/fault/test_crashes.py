"""Kill -9 during a hub stream, kill -9 of the only worker mid-job, and a 30 s
Redis outage during live streams (issue 12: defects 4, 7 and 9, real
processes; see conftest.py for what runs)."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import admin_headers, make_user
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript
from tests.fakes.upstream import FakeUpstream, Reply
from tests.fault.cluster import ANSWER_BOUND_S, JOB_BOUND_S, Cluster
from tests.fault.figures import record
from tests.fault.streams import messages_of, open_stream, poll, usage_rows

SLACK_S = 3.0
"""Allowed beyond a documented bound: a loaded 2-core CI machine."""
OUTAGE_S = 30.0


def _long_reply(words: int, delay: float) -> Reply:
    return Reply(
        text=" ".join(f"w{i}" for i in range(words)), chunks=words, chunk_delay=delay
    )


def _thread_body(question: str) -> dict[str, object]:
    return {
        "title": question[:40],
        "provider": "openai",
        "model": "gpt-4o-mini",
        "initial_message": question,
    }


async def test_kill9_of_an_api_process_during_a_hub_stream(
    cluster: Cluster,
    global_key: str,
    fault_upstream: FakeUpstream,
    engine: AsyncEngine,
) -> None:
    await cluster.ensure_up("a", "b", "w")
    a, b = cluster.procs["a"], cluster.procs["b"]
    fault_upstream.script(global_key, [_long_reply(300, 0.1)])
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=60) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=60) as on_b,
    ):
        user = await make_user(on_b)
        stream = await open_stream(
            on_a,
            "/api/threads/stream",
            _thread_body("question before the crash"),
            user.headers,
            until=lambda s: s.deltas >= 8,
        )
        start = stream.data("start")[0]
        await asyncio.sleep(0.8)  # one flush of the partial text at least
        a.kill9()
        killed_at = time.monotonic()

        async def interrupted() -> dict[str, object] | None:
            got = await on_b.get(
                f"/api/threads/{start['thread_id']}", headers=user.headers
            )
            last = got.json()["messages"][-1]
            return last if last["status"] != "streaming" else None

        answer, _ = await poll(interrupted, within_s=ANSWER_BOUND_S + 30)
        took = time.monotonic() - killed_at
    if stream.task is not None:
        stream.task.cancel()
    rows = await messages_of(engine, start["thread_id"])
    question = [m for m in rows if m.role == "user"]
    record(
        "1 kill -9 during a hub stream",
        f"interrupted after {took:.1f} s (documented bound {ANSWER_BOUND_S} s); "
        f"{stream.deltas} deltas streamed, {len(answer['content'])} chars kept",
    )
    assert answer["status"] == "interrupted"
    assert answer["meta_data"]["reason"] == "server_restart"
    assert answer["content"].startswith("w0 w1")
    assert question
    assert question[0].content == "question before the crash"
    assert await usage_rows(engine, start["assistant_message_id"]) == 1
    assert took <= ANSWER_BOUND_S + SLACK_S


async def test_kill9_of_the_only_worker_mid_job(
    cluster: Cluster, fault_media: FakeMediaUpstream
) -> None:
    await cluster.ensure_up("a", "b", "w")
    a, worker = cluster.procs["a"], cluster.procs["w"]
    secret = "sd-fault-global"
    held = threading.Event()
    fault_media.script(secret, MediaScript(polls=1, gate=held))
    async with httpx.AsyncClient(base_url=a.url, timeout=60) as on_a:
        created = await on_a.post(
            "/api/admin/api-keys/",
            json={
                "provider": "superduperai",
                "api_key": secret,
                "name": "media",
                "base_url": fault_media.base_url("superduperai"),
            },
            headers=await admin_headers(on_a),
        )
        assert created.status_code == 201, created.text
        user = await make_user(on_a)
        submitted = await on_a.post(
            "/api/media/jobs",
            json={
                "kind": "image",
                "provider": "superduperai",
                "model": "google-cloud/imagen4",
                "prompt": "a lighthouse",
                "size": "1024x1024",
            },
            headers=user.headers,
        )
        assert submitted.status_code == 201, submitted.text
        assert submitted.json()["warning"] is None  # the worker is alive
        url = f"/api/media/jobs/{submitted.json()['id']}"

        async def following() -> bool:
            job = (await on_a.get(url, headers=user.headers)).json()
            return job["status"] == "running" and job["percent"] > 0

        await poll(following, within_s=30)
        worker.kill9()
        killed_at = time.monotonic()

        async def released() -> dict[str, object] | None:
            job = (await on_a.get(url, headers=user.headers)).json()
            return job if job["status"] != "running" else None

        job, _ = await poll(released, within_s=JOB_BOUND_S + 30)
        took = time.monotonic() - killed_at
        events = await open_stream(
            on_a,
            f"{url}/events",
            None,
            user.headers,
            until=lambda s: any(
                d.get("reason") == "worker lost" for d in s.data("queued")
            ),
        )
        if events.task is not None:
            events.task.cancel()
        requeued = [d for d in events.data("queued") if d.get("reason")][-1]
        ready = (await on_a.get("/ready")).json()
        status = (await on_a.get("/api/status", headers=user.headers)).json()

    held.set()  # a new worker (the next scenario starts one) resumes it
    record(
        "3 kill -9 of the only worker mid-job",
        f"job {job['status']} after {took:.1f} s (documented bound {JOB_BOUND_S} s); "
        f"events: queued {requeued}; "
        f"/ready media_worker={ready['media_worker']['status']}",
    )
    assert job["status"] == "queued"
    assert "no media worker" in requeued["warning"]
    assert ready["media_worker"]["status"] == "none_seen"
    assert status["media_worker"]["status"] == "none_seen"
    assert took <= JOB_BOUND_S + SLACK_S


async def test_a_30s_redis_outage_during_live_streams(
    cluster: Cluster,
    global_key: str,
    fault_upstream: FakeUpstream,
    engine: AsyncEngine,
) -> None:
    await cluster.ensure_up("a", "b", "w")
    a, b = cluster.procs["a"], cluster.procs["b"]
    # Long enough to outlive the outage and a heartbeat TTL after it.
    words = int((OUTAGE_S + 9) / 0.1)
    fault_upstream.script(
        global_key,
        [_long_reply(words, 0.1) for _ in range(4)],
        default=Reply(text="short"),
    )
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=120) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=120) as on_b,
    ):
        user = await make_user(on_a)
        made = await on_a.post(
            "/api/gateway-keys/", json={"name": "rpm", "rpm": 5}, headers=user.headers
        )
        assert made.status_code == 201, made.text
        gateway = {"Authorization": f"Bearer {made.json()['key']}"}
        streams = [
            await open_stream(
                client,
                "/api/threads/stream",
                _thread_body(f"outage question {n}"),
                user.headers,
                until=lambda s: s.deltas >= 3,
            )
            for n, client in enumerate((on_a, on_a, on_b, on_b))
        ]

        cluster.redis.stop()
        stopped_at = time.monotonic()
        await asyncio.sleep(2)
        ready = await on_a.get("/ready")
        limited: dict[str, list[int]] = {}
        for name, client in (("a", on_a), ("b", on_b)):
            codes = []
            for _ in range(7):
                got = await client.post(
                    "/v1/chat/completions",
                    json={
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": "hi"}],
                    },
                    headers=gateway,
                )
                codes.append(got.status_code)
            limited[name] = codes
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
        cluster.redis.start()
        outage = time.monotonic() - stopped_at

        async def all_done() -> bool:
            return all(s.task is not None and s.task.done() for s in streams)

        await poll(all_done, within_s=90, every_s=0.5)
        ready_after = (await on_a.get("/ready")).json()
    statuses = [s.done["status"] if s.done else None for s in streams]
    usage = [
        await usage_rows(engine, s.data("start")[0]["assistant_message_id"])
        for s in streams
    ]
    stored = []
    for s in streams:
        rows = await messages_of(engine, s.data("start")[0]["thread_id"])
        stored.append(rows[-1].status)
    record(
        "4 Redis stopped during live streams",
        f"outage {outage:.1f} s; streams {statuses}; stored {stored}; "
        f"usage rows per message {usage}; /ready during: {ready.status_code} "
        f"{ready.json().get('status')} limits={ready.json().get('limits')}; "
        f"rpm=5 per process while down: a {limited['a']}, b {limited['b']}",
    )
    assert statuses == ["complete"] * 4
    assert stored == ["complete"] * 4
    assert usage == [1, 1, 1, 1]
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["limits"] == "per-process"
    for codes in limited.values():
        assert codes == [200] * 5 + [429] * 2
    assert ready_after["status"] == "ok"
