"""Threads, keys and SSE reading for chat tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.factories import Account
from tests.fakes.upstream import FakeUpstream


async def add_key(
    client: httpx.AsyncClient,
    user: Account,
    upstream: FakeUpstream,
    secret: str,
    provider: str = "openai",
    **fields: Any,
) -> int:
    body = {
        "provider": provider,
        "api_key": secret,
        "name": secret,
        "base_url": upstream.base_url(provider),
        **fields,
    }
    response = await client.post("/api/api-keys/", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    key_id: int = response.json()["id"]
    return key_id


async def make_thread(
    client: httpx.AsyncClient, user: Account, **fields: Any
) -> dict[str, Any]:
    body = {"title": "Chat", "provider": "openai", "model": "gpt-4o-mini", **fields}
    response = await client.post("/api/threads/", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    thread: dict[str, Any] = response.json()
    return thread


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


async def stream(
    client: httpx.AsyncClient, url: str, user: Account, body: dict[str, Any]
) -> list[tuple[str, dict[str, Any], int]]:
    response = await client.post(url, json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


async def get_thread(
    client: httpx.AsyncClient, user: Account, thread_id: int
) -> dict[str, Any]:
    response = await client.get(f"/api/threads/{thread_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    thread: dict[str, Any] = response.json()
    return thread
