"""Calls and checks shared by the proxy tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.chat.helpers import add_key
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream


async def user_with_key(
    client: httpx.AsyncClient, upstream: FakeUpstream, secret: str, **fields: Any
) -> Account:
    user = await make_user(client)
    await add_key(client, user, upstream, secret, **fields)
    return user


async def chat(
    client: httpx.AsyncClient, user: Account, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/api/chat", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def assert_seed_error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == error_type
    assert isinstance(body["error_message"], str)
    assert body["error_message"]


def parse_chunks(raw: str) -> tuple[list[dict[str, Any]], bool]:
    """The JSON of every ``data:`` frame, and whether ``[DONE]`` ended them."""
    chunks: list[dict[str, Any]] = []
    done = False
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        for line in block.split("\n"):
            if not line.startswith("data: "):
                continue
            assert not done, "nothing may follow [DONE]"
            if line == "data: [DONE]":
                done = True
            else:
                chunks.append(json.loads(line[6:]))
    return chunks, done


def sent_messages(upstream: FakeUpstream) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = upstream.last_request.json["messages"]
    return messages


async def tree(
    client: httpx.AsyncClient, user: Account, thread_id: str | int
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/threads/{thread_id}/tree", headers=user.headers)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages
