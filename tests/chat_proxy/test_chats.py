"""/api/chats (seed 004): create, list, history, rename, delete and cleanup,
each scoped to the caller's chats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from aihub.core.db import utcnow
from aihub.runtime import runtime_of
from aihub.threads.models import Thread
from tests.chat_proxy.helpers import assert_seed_error, chat, tree, user_with_key
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply


async def _create(client: httpx.AsyncClient, user: Account, name: str) -> str:
    response = await client.post(
        "/api/chats", json={"name": name}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["chatId"]
    chat_id: str = body["chatId"]
    return chat_id


async def _chats(client: httpx.AsyncClient, user: Account) -> list[dict[str, Any]]:
    response = await client.get("/api/chats", headers=user.headers)
    assert response.status_code == 200, response.text
    chats: list[dict[str, Any]] = response.json()["chats"]
    return chats


async def _age(app: FastAPI, chat_id: str, days: int) -> None:
    async with runtime_of(app).sessionmaker() as session:
        await session.execute(
            update(Thread)
            .where(Thread.id == int(chat_id))
            .values(created_at=utcnow() - timedelta(days=days))
        )
        await session.commit()


class TestCreateAndRead:
    async def test_create_list_and_history(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ch-read")
        fake_upstream.script("sk-ch-read", [Reply(text="a1"), Reply(text="a2")])
        empty = await _create(client, user, "Пустой")
        talked = (await chat(client, user, {"message": "q1"}))["chatId"]
        await chat(client, user, {"message": "q2", "chatId": talked})
        chats = await _chats(client, user)
        assert [c["id"] for c in chats] == [talked, empty]
        first = chats[0]
        assert first["name"] == "q1"
        assert (first["messageCount"], first["userMessageCount"]) == (4, 2)
        assert first["model"] == "gpt-4o-mini"
        assert isinstance(first["created"], int)
        assert first["updated"] >= first["created"]
        assert (chats[1]["name"], chats[1]["messageCount"]) == ("Пустой", 0)
        response = await client.get(f"/api/chats/{talked}", headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["chatId"] == talked
        history = body["history"]
        assert history["id"] == talked
        assert history["name"] == "q1"
        messages = history["messages"]
        assert [(m["role"], m["content"]) for m in messages] == [
            ("user", "q1"),
            ("assistant", "a1"),
            ("user", "q2"),
            ("assistant", "a2"),
        ]
        assert messages[0]["parentId"] is None
        assert [m["parentId"] for m in messages[1:]] == [m["id"] for m in messages[:-1]]
        assert messages[1]["model"] == "gpt-4o-mini"
        assert messages[1]["status"] == "complete"
        assert isinstance(messages[0]["timestamp"], int)

    async def test_a_chat_created_with_a_model_answers_with_it(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ch-model")
        response = await client.post(
            "/api/chats", json={"name": "4o", "model": "gpt-4o"}, headers=user.headers
        )
        chat_id = response.json()["chatId"]
        answer = await chat(client, user, {"message": "hi", "chatId": chat_id})
        assert answer["model"] == "gpt-4o"
        assert fake_upstream.last_request.json["model"] == "gpt-4o"

    async def test_a_chat_without_a_name_gets_one(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post("/api/chats", json={}, headers=user.headers)
        assert response.status_code == 201, response.text
        assert (await _chats(client, user))[0]["name"] == "New chat"

    async def test_chats_are_paged(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        ids = [await _create(client, user, f"c{n}") for n in range(3)]
        response = await client.get(
            "/api/chats", params={"skip": 1, "limit": 1}, headers=user.headers
        )
        assert [c["id"] for c in response.json()["chats"]] == [ids[1]]

    async def test_hub_threads_are_not_chats(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/threads/", json={"title": "Hub"}, headers=user.headers
        )
        thread_id = response.json()["id"]
        assert await _chats(client, user) == []
        response = await client.get(f"/api/chats/{thread_id}", headers=user.headers)
        assert_seed_error(response, 404, "not_found")
        response = await client.delete(f"/api/chats/{thread_id}", headers=user.headers)
        assert_seed_error(response, 404, "not_found")
        response = await client.get(f"/api/threads/{thread_id}", headers=user.headers)
        assert response.status_code == 200

    @pytest.mark.parametrize(
        "body", [{"name": 5}, {"name": "x" * 501}, {"model": ""}, []]
    )
    async def test_bad_create_bodies(
        self, client: httpx.AsyncClient, body: object
    ) -> None:
        user = await make_user(client)
        response = await client.post("/api/chats", json=body, headers=user.headers)
        assert_seed_error(response, 422, "validation_error")
        assert await _chats(client, user) == []


class TestRenameAndDelete:
    async def test_rename(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        chat_id = await _create(client, user, "old")
        response = await client.put(
            f"/api/chats/{chat_id}/rename",
            json={"name": "  Новое название чата  "},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json() == {
            "success": True,
            "chatId": chat_id,
            "name": "Новое название чата",
        }
        assert (await _chats(client, user))[0]["name"] == "Новое название чата"

    @pytest.mark.parametrize(
        "body", [{}, {"name": ""}, {"name": "   "}, {"name": None}]
    )
    async def test_a_blank_name_is_rejected(
        self, client: httpx.AsyncClient, body: object
    ) -> None:
        user = await make_user(client)
        chat_id = await _create(client, user, "keep")
        response = await client.put(
            f"/api/chats/{chat_id}/rename", json=body, headers=user.headers
        )
        assert_seed_error(response, 422, "validation_error")
        assert (await _chats(client, user))[0]["name"] == "keep"

    async def test_delete(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ch-delete")
        chat_id = (await chat(client, user, {"message": "bye"}))["chatId"]
        response = await client.delete(f"/api/chats/{chat_id}", headers=user.headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True}
        assert await _chats(client, user) == []
        response = await client.get(f"/api/chats/{chat_id}", headers=user.headers)
        assert_seed_error(response, 404, "not_found")
        response = await client.delete(f"/api/chats/{chat_id}", headers=user.headers)
        assert_seed_error(response, 404, "not_found")


class TestIsolation:
    async def test_another_users_chat_is_not_found_on_every_route_and_unchanged(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-ch-owner")
        intruder = await make_user(client)
        chat_id = (await chat(client, owner, {"message": "secret"}))["chatId"]
        before = await tree(client, owner, chat_id)
        calls = [
            client.get(f"/api/chats/{chat_id}", headers=intruder.headers),
            client.put(
                f"/api/chats/{chat_id}/rename",
                json={"name": "pwned"},
                headers=intruder.headers,
            ),
            client.delete(f"/api/chats/{chat_id}", headers=intruder.headers),
        ]
        for call in calls:
            assert_seed_error(await call, 404, "not_found")
        assert await _chats(client, intruder) == []
        chats = await _chats(client, owner)
        assert [(c["id"], c["name"]) for c in chats] == [(chat_id, "secret")]
        assert await tree(client, owner, chat_id) == before

    @pytest.mark.parametrize("chat_id", ["abc", "0", "-1", "99999999999", "1.5"])
    async def test_ids_that_name_nothing_are_not_found(
        self, client: httpx.AsyncClient, chat_id: str
    ) -> None:
        user = await make_user(client)
        response = await client.get(f"/api/chats/{chat_id}", headers=user.headers)
        assert_seed_error(response, 404, "not_found")

    async def test_unauthorized_without_a_token(
        self, client: httpx.AsyncClient
    ) -> None:
        for response in (
            await client.get("/api/chats"),
            await client.post("/api/chats", json={"name": "x"}),
            await client.get("/api/chats/1"),
            await client.delete("/api/chats/1"),
            await client.put("/api/chats/1/rename", json={"name": "x"}),
            await client.post("/api/chats/cleanup", json={"maxChats": 1}),
        ):
            assert_seed_error(response, 401, "unauthorized")


class TestCleanup:
    async def _post(
        self, client: httpx.AsyncClient, user: Account, body: object
    ) -> dict[str, Any]:
        response = await client.post(
            "/api/chats/cleanup", json=body, headers=user.headers
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        assert result["success"] is True
        assert result["deletedCount"] == len(result["deletedChats"])
        return result

    async def test_older_than(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        user = await make_user(client)
        old = await _create(client, user, "old")
        new = await _create(client, user, "new")
        await _age(app, old, days=8)
        week_ms = 7 * 24 * 3600 * 1000
        result = await self._post(client, user, {"olderThan": week_ms})
        assert result["deletedChats"] == [old]
        assert [c["id"] for c in await _chats(client, user)] == [new]

    async def test_message_counts(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-ch-counts")
        empty = await _create(client, user, "empty")
        one = (await chat(client, user, {"message": "one"}))["chatId"]
        two = (await chat(client, user, {"message": "two"}))["chatId"]
        await chat(client, user, {"message": "again", "chatId": two})
        # user messages: empty 0, one 1, two 2; all messages: 0, 2, 4
        result = await self._post(client, user, {"userMessageCountLessThan": 2})
        assert sorted(result["deletedChats"]) == sorted([empty, one])
        assert [c["id"] for c in await _chats(client, user)] == [two]
        three = (await chat(client, user, {"message": "three"}))["chatId"]
        result = await self._post(client, user, {"messageCountLessThan": 3})
        assert result["deletedChats"] == [three]

    async def test_filters_combine_and_max_chats_adds_the_oldest(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        user = await make_user(client)
        ids = [await _create(client, user, f"c{n}") for n in range(4)]
        await _age(app, ids[0], days=30)
        await _age(app, ids[1], days=20)
        # Old AND empty: only c0 and c1 qualify; maxChats 3 adds nothing new.
        result = await self._post(
            client,
            user,
            {"olderThan": 10 * 24 * 3600 * 1000, "messageCountLessThan": 1},
        )
        assert sorted(result["deletedChats"]) == sorted(ids[:2])
        more = [await _create(client, user, f"d{n}") for n in range(3)]
        result = await self._post(client, user, {"maxChats": 2})
        assert sorted(result["deletedChats"]) == sorted(ids[2:] + more[:1])
        assert sorted(c["id"] for c in await _chats(client, user)) == sorted(more[1:])

    async def test_no_filter_deletes_nothing(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        await _create(client, user, "keep")
        result = await self._post(client, user, {})
        assert result == {"success": True, "deletedCount": 0, "deletedChats": []}
        assert len(await _chats(client, user)) == 1

    async def test_only_the_callers_chats_go(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        user = await make_user(client)
        other = await make_user(client)
        mine = await _create(client, user, "mine")
        theirs = await _create(client, other, "theirs")
        await _age(app, theirs, days=30)
        response = await client.post(
            "/api/threads/", json={"title": "Hub thread"}, headers=user.headers
        )
        hub_thread = response.json()["id"]
        result = await self._post(
            client, user, {"maxChats": 1, "messageCountLessThan": 5}
        )
        assert result["deletedChats"] == [mine]
        assert [c["id"] for c in await _chats(client, other)] == [theirs]
        response = await client.get(f"/api/threads/{hub_thread}", headers=user.headers)
        assert response.status_code == 200

    @pytest.mark.parametrize(
        "body",
        [
            {"olderThan": 0},
            {"olderThan": -5},
            {"olderThan": "7d"},
            {"olderThan": 10**20},
            {"olderThan": 1.5},
            {"olderThan": True},
            {"maxChats": 0},
            {"userMessageCountLessThan": -1},
            {"messageCountLessThan": "3"},
            {"maxchats": 1},
            [],
        ],
    )
    async def test_bad_filters_are_rejected(
        self, client: httpx.AsyncClient, body: object
    ) -> None:
        user = await make_user(client)
        await _create(client, user, "keep")
        response = await client.post(
            "/api/chats/cleanup", json=body, headers=user.headers
        )
        assert_seed_error(response, 422, "validation_error")
        assert len(await _chats(client, user)) == 1
