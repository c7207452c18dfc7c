"""The active branch is walked up by primary key (repository._ancestors): it
stays exactly the leaf's chain in long branched threads and never leaves the
thread, even when a row's parent points into another thread."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Account
from tests.threads.builders import get_thread, new_message, new_thread
from tests.threads.trees import set_message

pytestmark = pytest.mark.shared_app


async def _chain(
    client: httpx.AsyncClient, account: Account, thread_id: int, count: int
) -> list[int]:
    ids = []
    for number in range(count):
        role = "user" if number % 2 == 0 else "assistant"
        message = await new_message(
            client, account, thread_id, role=role, content=f"turn {number}"
        )
        ids.append(message["id"])
    return ids


async def test_a_long_branched_thread_loads_exactly_the_active_chain(
    client: httpx.AsyncClient, alice: Account
) -> None:
    thread_id = (await new_thread(client, alice))["id"]
    trunk = await _chain(client, alice, thread_id, 40)
    # a sibling of turn 20 starts a second branch, which becomes active
    side = await new_message(
        client, alice, thread_id, content="other turn 20", parent_id=trunk[19]
    )
    tail = await _chain(client, alice, thread_id, 9)
    loaded = await get_thread(client, alice, thread_id)
    assert [m["id"] for m in loaded["messages"]] == [*trunk[:20], side["id"], *tail]
    tree = await client.get(f"/api/threads/{thread_id}/tree", headers=alice.headers)
    assert len(tree.json()["messages"]) == 40 + 1 + 9


async def test_the_walk_stops_at_the_thread_boundary(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
) -> None:
    foreign_thread = (await new_thread(client, bob))["id"]
    foreign = await _chain(client, bob, foreign_thread, 4)
    thread_id = (await new_thread(client, alice))["id"]
    own = await _chain(client, alice, thread_id, 4)
    # a damaged row: the root's parent is a message of bob's thread
    await set_message(app, own[0], parent_id=foreign[3])
    loaded = await get_thread(client, alice, thread_id)
    assert [m["id"] for m in loaded["messages"]] == own
    assert all(m["content"].startswith("turn") for m in loaded["messages"])
    branches = await client.get(
        f"/api/threads/{thread_id}/messages/{own[1]}/branches", headers=alice.headers
    )
    assert branches.status_code == 200, branches.text
