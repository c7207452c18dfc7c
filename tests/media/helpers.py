"""Keys, jobs and SSE reading for media tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.factories import Account
from tests.fakes.media_upstream import FakeMediaUpstream

TERMINAL = {"completed", "failed", "cancelled"}


async def add_key(
    client: httpx.AsyncClient,
    user: Account,
    fake: FakeMediaUpstream,
    secret: str,
    provider: str = "superduperai",
    **fields: Any,
) -> int:
    body = {
        "provider": provider,
        "api_key": secret,
        "name": secret,
        "base_url": fake.base_url(provider),
        **fields,
    }
    response = await client.post("/api/api-keys/", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    key_id: int = response.json()["id"]
    return key_id


async def submit(
    client: httpx.AsyncClient, user: Account, **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "image",
        "provider": "superduperai",
        "model": "google-cloud/imagen4",
        "prompt": "красивый закат",
        "size": "1024x1024",
        **fields,
    }
    response = await client.post("/api/media/jobs", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def parse_sse(raw: str) -> list[tuple[str, dict[str, Any], int]]:
    """(event, data, id) of every frame; comments (pings) are skipped."""
    frames = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        event, data, event_id = "message", None, 0
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line.startswith("id: "):
                event_id = int(line[4:])
        if data is not None:
            frames.append((event, data, event_id))
    return frames


async def read_events(
    client: httpx.AsyncClient,
    user: Account,
    job_id: int,
    *,
    last_event_id: int | None = None,
    timeout_s: float = 30.0,
) -> list[tuple[str, dict[str, Any], int]]:
    """Every frame of the job's event stream up to its end."""
    headers = dict(user.headers)
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    async with asyncio.timeout(timeout_s):
        response = await client.get(
            f"/api/media/jobs/{job_id}/events", headers=headers, timeout=timeout_s
        )
    assert response.status_code in (200, 204), response.text
    return parse_sse(response.text)


async def wait_status(
    client: httpx.AsyncClient,
    user: Account,
    job_id: int,
    statuses: set[str],
    *,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """Poll GET /api/media/jobs/{id} (the fallback) until a status is reached."""
    async with asyncio.timeout(timeout_s):
        while True:
            response = await client.get(
                f"/api/media/jobs/{job_id}", headers=user.headers
            )
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()
            if job["status"] in statuses:
                return job
            await asyncio.sleep(0.02)
