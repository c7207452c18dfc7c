"""Branches of a thread: siblings, switching, the whole tree and forks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import Account
from tests.threads.builders import (
    MESSAGE_KEYS,
    assert_error,
    count_messages,
    get_thread,
    list_threads,
    new_category,
    new_message,
    new_thread,
)
from tests.threads.trees import (
    add_root,
    build_tree,
    message_rows,
    set_message,
    thread_row,
)

# Each test makes its own users: one app for the module is enough.
pytestmark = pytest.mark.shared_app


def ids(messages: list[dict[str, Any]]) -> list[int]:
    return [message["id"] for message in messages]


async def branches(
    client: httpx.AsyncClient, account: Account, thread_id: int, message_id: int
) -> httpx.Response:
    return await client.get(
        f"/api/threads/{thread_id}/messages/{message_id}/branches",
        headers=account.headers,
    )


async def activate(
    client: httpx.AsyncClient, account: Account, thread_id: int, message_id: int
) -> httpx.Response:
    return await client.post(
        f"/api/threads/{thread_id}/messages/{message_id}/activate",
        headers=account.headers,
    )


async def fork(
    client: httpx.AsyncClient, account: Account, thread_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/threads/{thread_id}/fork", json=body, headers=account.headers
    )


class TestListBranches:
    async def test_lists_siblings_with_the_active_one(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await branches(client, alice, tree.thread_id, tree.a1)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["message_id"] == tree.a1
        assert body["parent_id"] == tree.q1
        assert ids(body["siblings"]) == [tree.a1, tree.a1b]
        assert body["active_index"] == 1
        assert set(body["siblings"][0]) >= MESSAGE_KEYS | {"parent_id", "status"}
        assert [s["content"] for s in body["siblings"]] == ["5", "4"]

    async def test_same_answer_from_either_sibling(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        body = (await branches(client, alice, tree.thread_id, tree.a1b)).json()
        assert body["message_id"] == tree.a1b
        assert ids(body["siblings"]) == [tree.a1, tree.a1b]
        assert body["active_index"] == 1

    async def test_only_child_on_the_active_branch(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        body = (await branches(client, alice, tree.thread_id, tree.q2)).json()
        assert ids(body["siblings"]) == [tree.q2]
        assert body["active_index"] == 0

    async def test_active_index_is_null_off_the_active_branch(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        await activate(client, alice, tree.thread_id, tree.a1)
        body = (await branches(client, alice, tree.thread_id, tree.q2)).json()
        assert ids(body["siblings"]) == [tree.q2]
        assert body["active_index"] is None
        body = (await branches(client, alice, tree.thread_id, tree.a1b)).json()
        assert body["active_index"] == 0

    async def test_roots_are_siblings_of_each_other(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        other_root = await add_root(app, tree.thread_id, "Another start")
        body = (await branches(client, alice, tree.thread_id, other_root)).json()
        assert body["parent_id"] is None
        assert ids(body["siblings"]) == [tree.q1, other_root]
        assert body["active_index"] == 0

    async def test_roots_of_other_threads_are_not_siblings(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        await build_tree(client, alice)
        body = (await branches(client, alice, tree.thread_id, tree.q1)).json()
        assert ids(body["siblings"]) == [tree.q1]

    async def test_message_of_another_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        other = await build_tree(client, alice)
        response = await branches(client, alice, tree.thread_id, other.a1)
        assert_error(response, 404, "not_found")

    async def test_other_users_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await branches(client, bob, tree.thread_id, tree.a1)
        assert_error(response, 404, "not_found")
        own = await new_thread(client, bob)
        response = await branches(client, bob, own["id"], tree.a1)
        assert_error(response, 404, "not_found")

    @pytest.mark.parametrize("message_id", ["0", "-1", "abc", "2147483648"])
    async def test_bad_message_id_is_a_validation_error(
        self, client: httpx.AsyncClient, alice: Account, message_id: str
    ) -> None:
        tree = await build_tree(client, alice)
        response = await client.get(
            f"/api/threads/{tree.thread_id}/messages/{message_id}/branches",
            headers=alice.headers,
        )
        assert_error(response, 422, "validation_error")

    async def test_requires_authentication(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await client.get(
            f"/api/threads/{tree.thread_id}/messages/{tree.a1}/branches"
        )
        assert response.status_code == 401


class TestActivate:
    async def test_switches_to_the_older_sibling(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await activate(client, alice, tree.thread_id, tree.a1)
        assert response.status_code == 200, response.text
        body = response.json()
        assert ids(body["messages"]) == [tree.q1, tree.a1]
        assert body["message_count"] == 5
        assert body == await get_thread(client, alice, tree.thread_id)
        row = await thread_row(app, tree.thread_id)
        assert row is not None
        assert row.active_message_id == tree.a1

    async def test_goes_down_to_the_newest_leaf(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        await activate(client, alice, tree.thread_id, tree.a1)
        body = (await activate(client, alice, tree.thread_id, tree.a1b)).json()
        assert ids(body["messages"]) == [tree.q1, tree.a1b, tree.q2, tree.a2]
        body = (await activate(client, alice, tree.thread_id, tree.q1)).json()
        assert ids(body["messages"])[-1] == tree.a2

    async def test_follows_the_newest_child_at_each_step(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        # q1 -> a1 -> x (older) -> deep (newest overall)
        #          -> y (newer child of a1, a leaf)
        tree = await build_tree(client, alice)
        await activate(client, alice, tree.thread_id, tree.a1)
        tid = tree.thread_id
        x = await new_message(client, alice, tid, content="x", parent_id=tree.a1)
        y = await new_message(client, alice, tid, content="y", parent_id=tree.a1)
        deep = await new_message(client, alice, tid, content="deep", parent_id=x["id"])
        body = (await activate(client, alice, tid, tree.q1)).json()
        assert ids(body["messages"])[-1] == tree.a2
        body = (await activate(client, alice, tid, tree.a1)).json()
        assert ids(body["messages"]) == [tree.q1, tree.a1, y["id"]]
        body = (await activate(client, alice, tid, x["id"])).json()
        assert ids(body["messages"]) == [tree.q1, tree.a1, x["id"], deep["id"]]

    async def test_new_messages_follow_the_activated_branch(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        await activate(client, alice, tree.thread_id, tree.a1)
        message = await new_message(client, alice, tree.thread_id, content="Really?")
        assert message["parent_id"] == tree.a1
        shown = await get_thread(client, alice, tree.thread_id)
        assert ids(shown["messages"]) == [tree.q1, tree.a1, message["id"]]

    async def test_activating_the_active_leaf_changes_nothing(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        before = await get_thread(client, alice, tree.thread_id)
        response = await activate(client, alice, tree.thread_id, tree.a2)
        assert response.json() == before

    async def test_message_of_another_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        other = await build_tree(client, alice)
        before = await get_thread(client, alice, tree.thread_id)
        response = await activate(client, alice, tree.thread_id, other.a1)
        assert_error(response, 404, "not_found")
        assert await get_thread(client, alice, tree.thread_id) == before

    async def test_other_users_thread_is_not_found_and_unchanged(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        tree = await build_tree(client, alice)
        before = await get_thread(client, alice, tree.thread_id)
        response = await activate(client, bob, tree.thread_id, tree.a1)
        assert_error(response, 404, "not_found")
        own = await new_thread(client, bob)
        response = await activate(client, bob, own["id"], tree.a1)
        assert_error(response, 404, "not_found")
        assert await get_thread(client, alice, tree.thread_id) == before

    async def test_unknown_message_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await activate(client, alice, tree.thread_id, 2_147_483_647)
        assert_error(response, 404, "not_found")


class TestTree:
    async def test_lists_every_branch_by_id(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await client.get(
            f"/api/threads/{tree.thread_id}/tree", headers=alice.headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"active_message_id", "messages"}
        assert body["active_message_id"] == tree.a2
        assert ids(body["messages"]) == [tree.q1, tree.a1, tree.a1b, tree.q2, tree.a2]
        parents = [m["parent_id"] for m in body["messages"]]
        assert parents == [None, tree.q1, tree.q1, tree.a1b, tree.q2]

    async def test_follows_the_active_leaf(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        await activate(client, alice, tree.thread_id, tree.a1)
        body = (
            await client.get(
                f"/api/threads/{tree.thread_id}/tree", headers=alice.headers
            )
        ).json()
        assert body["active_message_id"] == tree.a1
        assert len(body["messages"]) == 5

    async def test_empty_thread(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        thread = await new_thread(client, alice)
        body = (
            await client.get(f"/api/threads/{thread['id']}/tree", headers=alice.headers)
        ).json()
        assert body == {"active_message_id": None, "messages": []}

    async def test_other_users_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await client.get(
            f"/api/threads/{tree.thread_id}/tree", headers=bob.headers
        )
        assert_error(response, 404, "not_found")


class TestFork:
    async def test_copies_the_path_into_a_new_thread(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        category = await new_category(client, alice)
        tree = await build_tree(
            client,
            alice,
            title="Maths",
            category_id=category["id"],
            system_prompt="Be exact",
            max_tokens=512,
            temperature=0.3,
        )
        source = await get_thread(client, alice, tree.thread_id)
        system_id = source["messages"][0]["id"]
        await set_message(
            app,
            tree.a1,
            status="stopped",
            content_parts=[{"type": "text", "text": "5"}],
            meta_data={"finish_reason": "stop"},
            tokens=7,
        )
        response = await fork(client, alice, tree.thread_id, message_id=tree.a1)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["id"] != tree.thread_id
        assert body["title"] == "Maths (fork)"
        assert body["user_id"] == alice.id
        for name in (
            "provider",
            "model",
            "category_id",
            "system_prompt",
            "max_tokens",
            "temperature",
        ):
            assert body[name] == source[name], name
        assert body["message_count"] == 3
        assert body["is_pinned"] is False
        copies = body["messages"]
        assert [m["content"] for m in copies] == ["Be exact", "What is 2+2?", "5"]
        assert [m["role"] for m in copies] == ["system", "user", "assistant"]
        assert [m["thread_id"] for m in copies] == [body["id"]] * 3
        assert not set(ids(copies)) & {system_id, tree.q1, tree.a1}
        assert [m["parent_id"] for m in copies] == [
            None,
            copies[0]["id"],
            copies[1]["id"],
        ]
        answer = copies[2]
        assert (answer["status"], answer["tokens"]) == ("stopped", 7)
        assert (answer["model"], answer["provider"]) == ("gpt-4o", "openai")
        assert answer["meta_data"] == {"finish_reason": "stop"}
        assert body == await get_thread(client, alice, body["id"])
        row = await thread_row(app, body["id"])
        assert row is not None
        assert row.forked_from_message_id == tree.a1
        assert row.active_message_id == answer["id"]
        rows = await message_rows(app, body["id"])
        assert rows[2].content_parts == [{"type": "text", "text": "5"}]

    async def test_fork_of_the_active_leaf_keeps_the_whole_branch(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        body = (await fork(client, alice, tree.thread_id, message_id=tree.a2)).json()
        assert [m["content"] for m in body["messages"]] == [
            "What is 2+2?",
            "4",
            "And 3+3?",
            "6",
        ]
        tree_body = (
            await client.get(f"/api/threads/{body['id']}/tree", headers=alice.headers)
        ).json()
        assert len(tree_body["messages"]) == 4

    async def test_takes_the_given_title(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        body = (
            await fork(client, alice, tree.thread_id, message_id=tree.q1, title=" New ")
        ).json()
        assert body["title"] == "New"
        blank = await fork(client, alice, tree.thread_id, message_id=tree.q1, title=" ")
        assert blank.json()["title"] == "A thread (fork)"

    async def test_default_title_fits_the_column(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice, title="t" * 500)
        body = (await fork(client, alice, tree.thread_id, message_id=tree.q1)).json()
        assert len(body["title"]) == 500
        assert body["title"].endswith("t (fork)")

    async def test_copies_are_independent_of_the_source(
        self, client: httpx.AsyncClient, app: FastAPI, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        forked = (await fork(client, alice, tree.thread_id, message_id=tree.a2)).json()
        added = await new_message(client, alice, forked["id"], content="Only here")
        assert await count_messages(app, tree.thread_id) == 5
        response = await client.delete(
            f"/api/threads/{tree.thread_id}", headers=alice.headers
        )
        assert response.status_code == 204
        shown = await get_thread(client, alice, forked["id"])
        assert ids(shown["messages"]) == [*ids(forked["messages"]), added["id"]]
        assert shown["messages"][3]["content"] == "6"

    async def test_other_users_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account, bob: Account
    ) -> None:
        tree = await build_tree(client, alice)
        response = await fork(client, bob, tree.thread_id, message_id=tree.a1)
        assert_error(response, 404, "not_found")
        own = await new_thread(client, bob)
        response = await fork(client, bob, own["id"], message_id=tree.a1)
        assert_error(response, 404, "not_found")
        assert ids(await list_threads(client, bob)) == [own["id"]]
        assert ids(await list_threads(client, alice)) == [tree.thread_id]

    async def test_message_of_another_thread_is_not_found(
        self, client: httpx.AsyncClient, alice: Account
    ) -> None:
        tree = await build_tree(client, alice)
        other = await build_tree(client, alice)
        response = await fork(client, alice, tree.thread_id, message_id=other.a1)
        assert_error(response, 404, "not_found")
        assert len(await list_threads(client, alice)) == 2

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"message_id": 0},
            {"message_id": "x"},
            {"message_id": 2_147_483_648},
            {"message_id": 1, "title": "t" * 501},
            {"message_id": 1, "title": "a\x00b"},
        ],
    )
    async def test_bad_body_is_a_validation_error(
        self, client: httpx.AsyncClient, alice: Account, body: dict[str, Any]
    ) -> None:
        tree = await build_tree(client, alice)
        response = await fork(client, alice, tree.thread_id, **body)
        assert_error(response, 422, "validation_error")
        assert len(await list_threads(client, alice)) == 1
