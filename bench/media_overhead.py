"""Media job overhead with the provider mocked (tests/fakes/media_upstream.py).

Measures, through the real app (ASGI, lifespan, queue, worker, database):

- submit -> first progress event: from sending POST /api/media/jobs to
  receiving the job's first ``progress`` SSE frame (queue, claim, events);
- completion -> artifact served: from the moment the fake provider first
  answers "done" to the client holding the artifact's bytes (poll, download,
  blob store, database, completed event, GET /api/files/...);
- worker throughput: jobs completed per second, N jobs submitted at once.

    python bench/media_overhead.py                  # SQLite, in-process queue
    python bench/media_overhead.py --jobs 400 --concurrency 16
    AIHUB_BENCH_DATABASE_URL=postgresql+asyncpg://... \\
    AIHUB_BENCH_REDIS_URL=redis://127.0.0.1:6379/8 python bench/media_overhead.py

With Redis the worker still runs in this process (embedded), but every job
goes through the Redis broker and the event bus. Prints a JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript  # noqa: E402

from aihub.core.settings import Settings  # noqa: E402
from aihub.main import create_app  # noqa: E402
from aihub.migrate import upgrade  # noqa: E402

BODY = {
    "kind": "image",
    "provider": "superduperai",
    "model": "google-cloud/imagen4",
    "prompt": "bench",
    "size": "1024x1024",
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p95_ms": round(_pct(values, 0.95) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


async def _account(
    client: httpx.AsyncClient, fake: FakeMediaUpstream, n: int
) -> dict[str, str]:
    email = f"bench{n}@example.com"
    created = await client.post(
        "/api/users/",
        json={"email": email, "username": f"bench{n}", "password": "bench-password-1"},
    )
    created.raise_for_status()
    token = await client.post(
        "/api/auth/token", data={"username": email, "password": "bench-password-1"}
    )
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    key = await client.post(
        "/api/api-keys/",
        json={
            "provider": "superduperai",
            "api_key": f"bench-key-{n}",
            "base_url": fake.base_url("superduperai"),
        },
        headers=headers,
    )
    key.raise_for_status()
    fake.script(f"bench-key-{n}", MediaScript(polls=1))
    return headers


async def _one_job(
    client: httpx.AsyncClient, fake: FakeMediaUpstream, headers: dict[str, str]
) -> tuple[float, float]:
    """(submit -> first progress, upstream done -> artifact bytes in hand)."""
    sent = time.perf_counter()
    job = (await client.post("/api/media/jobs", json=BODY, headers=headers)).json()
    first_progress = None
    artifact_url = None
    url = f"/api/media/jobs/{job['id']}/events"
    async with client.stream("GET", url, headers=headers) as response:
        async for line in response.aiter_lines():
            if line.startswith("event: progress") and first_progress is None:
                first_progress = time.perf_counter() - sent
            if line.startswith("data: ") and '"completed"' in line:
                artifact_url = json.loads(line[6:])["artifacts"][0]["url"]
                break
    if artifact_url is None or first_progress is None:
        raise RuntimeError(f"job {job['id']} did not complete")
    served = await client.get(artifact_url, headers=headers)
    served.raise_for_status()
    held = time.perf_counter()
    done_at = max(fake.done_at.values())
    fake.done_at.clear()
    return first_progress, held - done_at


async def _throughput(
    client: httpx.AsyncClient, headers: list[dict[str, str]], jobs: int
) -> dict[str, Any]:
    start = time.perf_counter()
    ids: list[tuple[int, dict[str, str]]] = []
    for index in range(jobs):
        who = headers[index % len(headers)]
        job = (await client.post("/api/media/jobs", json=BODY, headers=who)).json()
        ids.append((job["id"], who))
    submitted = time.perf_counter() - start
    pending = list(ids)
    while pending:
        await asyncio.sleep(0.05)
        still = []
        for job_id, who in pending:
            status = (await client.get(f"/api/media/jobs/{job_id}", headers=who)).json()
            if status["status"] not in ("completed", "failed"):
                still.append((job_id, who))
        pending = still
    elapsed = time.perf_counter() - start
    return {
        "jobs": jobs,
        "submit_s": round(submitted, 3),
        "total_s": round(elapsed, 3),
        "jobs_per_s": round(jobs / elapsed, 1),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="aihub-media-bench-"))
    database_url = os.environ.get("AIHUB_BENCH_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    )
    redis_url = os.environ.get("AIHUB_BENCH_REDIS_URL") or None
    await asyncio.to_thread(upgrade, database_url)
    settings = Settings(
        data_dir=tmp,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=SecretStr("bench-secret-key-that-is-long-enough-for-hs256"),
        log_level="WARNING",
        log_format="console",
        media_embedded_worker=True,
        media_poll_interval_s=args.poll_interval,
        media_worker_concurrency=args.concurrency,
        media_user_concurrency=args.concurrency,
    )
    fake = FakeMediaUpstream()
    fake.start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            loop="uvloop",
            http="httptools",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):  # up to 20 s
        if server.started:
            break
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=60
        ) as client:
            users = [await _account(client, fake, n) for n in range(args.users)]
            for _ in range(3):  # warm-up
                await _one_job(client, fake, users[0])
            firsts, serves = [], []
            for _ in range(args.samples):
                first, served = await _one_job(client, fake, users[0])
                firsts.append(first)
                serves.append(served)
            throughput = await _throughput(client, users, args.jobs)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 15)
        fake.stop()
    return {
        "setup": {
            "database": "postgresql"
            if database_url.startswith("postgresql")
            else "sqlite",
            "broker": "redis" if redis_url else "in-process",
            "worker_concurrency": args.concurrency,
            "upstream_poll_interval_s": args.poll_interval,
            "upstream_polls_per_job": 1,
            "image": "1024x1024 PNG",
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        },
        "submit_to_first_progress": _summary(firsts),
        "upstream_done_to_artifact_served": _summary(serves),
        "throughput": throughput,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--poll-interval", type=float, default=0.01)
    report = asyncio.run(main(parser.parse_args()))
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
