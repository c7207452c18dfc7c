"""Stored /v1/responses written behind the request (aihub.gateway.responses_writer):
a burst of calls all stored, a queued response read back at once (retrieve,
input items, delete, ``previous_response_id``), shutdown writing what is
queued, ids of the old format still read, and another user's id a 404.

A long flush interval (60 s) keeps exchanges queued where a test needs them
queued: the writer writes an exchange at once only when idle, so the first
call of such a test is written and the next ones wait, unless a reader asks
for them (then a broken read-your-writes fails on the client's timeout).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aihub.core.db import build_engine, build_sessionmaker
from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.providers.base import Usage
from aihub.threads import service as threads_service
from aihub.threads.models import Message, Thread
from aihub.usage.recording import cost_of
from tests.chat.helpers import add_key
from tests.conftest import LIFESPAN_TIMEOUT_S, LiveServer, _empty_tables, _flush_redis
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply

NEW_ID = re.compile(r"^resp_[0-9a-f]{48}$")
QUEUED = {"responses_flush_interval_s": 60.0}


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> Account:
    return await make_user(http)


@pytest.fixture
async def sdk(
    live_server: LiveServer, user: Account
) -> AsyncIterator[openai.AsyncOpenAI]:
    token = user.headers["Authorization"].removeprefix("Bearer ")
    client = openai.AsyncOpenAI(
        base_url=f"{live_server.url}/v1", api_key=token, max_retries=0, timeout=20
    )
    yield client
    await client.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The test's own way into the database (the app runs in another loop)."""
    engine = build_engine(database_url)
    yield build_sessionmaker(engine)
    await engine.dispose()


async def _stored(
    db: async_sessionmaker[AsyncSession], response_ids: list[str]
) -> dict[str, Message]:
    async with db() as session:
        rows = await session.scalars(
            select(Message).where(Message.response_id.in_(response_ids))
        )
        return {m.response_id or "": m for m in rows}


async def _create(
    http: httpx.AsyncClient, user: Account, given: Any, **extra: Any
) -> dict[str, Any]:
    body = {"model": "gpt-4o-mini", "input": given, **extra}
    response = await http.post("/v1/responses", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


class TestBurst:
    async def test_fifty_concurrent_calls_are_all_stored(
        self,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-w-burst")
        created = await asyncio.gather(
            *(_create(http, user, f"question {i}") for i in range(50))
        )
        ids = [c["id"] for c in created]
        assert all(NEW_ID.match(i) for i in ids)
        assert len(set(ids)) == 50
        for i, one in enumerate(created):
            got = await http.get(f"/v1/responses/{one['id']}", headers=user.headers)
            assert got.status_code == 200, got.text
            stored = got.json()
            assert stored["output"][0]["content"][0]["text"] == f"echo: question {i}"
            assert stored["usage"] == one["usage"]
            assert stored["status"] == "completed"
        threads = await http.get(
            "/api/threads/", params={"limit": 100}, headers=user.headers
        )
        listed = threads.json()
        assert len(listed) == 50
        for thread in listed:
            detail = await http.get(
                f"/api/threads/{thread['id']}", headers=user.headers
            )
            question, answer = detail.json()["messages"]
            index = int(question["content"].removeprefix("question "))
            usage = created[index]["usage"]
            assert answer["content"] == f"echo: question {index}"
            assert answer["parent_id"] == question["id"]
            assert answer["tokens"] == usage["output_tokens"]
            assert (
                answer["meta_data"]["tokens"]["total_tokens"] == (usage["total_tokens"])
            )
            assert answer["meta_data"]["cost"] == pytest.approx(
                cost_of(
                    "openai",
                    "gpt-4o-mini",
                    Usage(
                        prompt_tokens=usage["input_tokens"],
                        completion_tokens=usage["output_tokens"],
                        total_tokens=usage["total_tokens"],
                    ),
                )
            )
            assert answer["meta_data"]["cost"] > 0


class TestQueued:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update=QUEUED)

    async def test_a_queued_response_is_read_back_at_once(
        self,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
        db: async_sessionmaker[AsyncSession],
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-w-ryw")
        first = await _create(http, user, "first")  # the idle writer: at once
        queued = await _create(
            http, user, [{"role": "user", "content": "second"}], metadata={"k": "v"}
        )
        assert queued["id"] not in await _stored(db, [queued["id"]])
        assert (
            "x-aihub-thread"
            not in (
                await http.post(
                    "/v1/responses",
                    json={"model": "gpt-4o-mini", "input": "third"},
                    headers=user.headers,
                )
            ).headers
        )
        got = await http.get(f"/v1/responses/{queued['id']}", headers=user.headers)
        assert got.status_code == 200
        assert got.json()["output"][0]["content"][0]["text"] == "echo: second"
        assert got.json()["metadata"] == {"k": "v"}
        assert (await _stored(db, [queued["id"]]))[queued["id"]].content == (
            "echo: second"
        )
        later = await _create(http, user, "fourth")
        items = await http.get(
            f"/v1/responses/{later['id']}/input_items", headers=user.headers
        )
        data = items.json()["data"]
        assert [i["content"][0]["text"] for i in data] == ["fourth"]
        gone = await _create(http, user, "fifth")
        deleted = await http.delete(f"/v1/responses/{gone['id']}", headers=user.headers)
        assert deleted.status_code == 200
        again = await http.get(f"/v1/responses/{gone['id']}", headers=user.headers)
        assert again.status_code == 404
        assert (
            await http.get(f"/v1/responses/{first['id']}", headers=user.headers)
        ).status_code == 200

    async def test_a_chain_made_back_to_back_is_one_branch(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
        db: async_sessionmaker[AsyncSession],
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-w-chain")
        fake_upstream.script(
            "sk-w-chain",
            [Reply(text="warm"), Reply(text="A1"), Reply(text="A2"), Reply(text="A3")],
        )
        await sdk.responses.create(model="gpt-4o-mini", input="warm up")
        one = await sdk.responses.create(model="gpt-4o-mini", input="Q1")
        two = await sdk.responses.create(
            model="gpt-4o-mini", input="Q2", previous_response_id=one.id
        )
        raw = await http.post(
            "/v1/responses",
            json={
                "model": "gpt-4o-mini",
                "input": "Q3",
                "previous_response_id": two.id,
            },
            headers=user.headers,
        )
        three = raw.json()
        sent = [
            (m["role"], m["content"])
            for m in fake_upstream.last_request.json["messages"]
        ]
        assert sent == [
            ("user", "Q1"),
            ("assistant", "A1"),
            ("user", "Q2"),
            ("assistant", "A2"),
            ("user", "Q3"),
        ]
        assert (await sdk.responses.retrieve(three["id"])).output_text == "A3"
        stored = await _stored(db, [one.id, two.id, three["id"]])
        thread_ids = {m.thread_id for m in stored.values()}
        assert len(thread_ids) == 1
        (thread_id,) = thread_ids
        # A continuation's thread is known when its answer goes out.
        assert raw.headers["x-aihub-thread"] == str(thread_id)
        detail = await http.get(f"/api/threads/{thread_id}", headers=user.headers)
        messages = detail.json()["messages"]
        assert [m["content"] for m in messages] == ["Q1", "A1", "Q2", "A2", "Q3", "A3"]
        assert [m["parent_id"] for m in messages[1:]] == [
            m["id"] for m in messages[:-1]
        ]
        assert detail.json()["message_count"] == 6
        inputs = [m["meta_data"]["response_input"] for m in messages[::2]]
        assert [[i["content"][0]["text"] for i in turn] for turn in inputs] == [
            ["Q1"],
            ["Q2"],
            ["Q3"],
        ]

    async def test_another_users_queued_response_is_not_found(
        self,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
        db: async_sessionmaker[AsyncSession],
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-w-iso")
        await _create(http, user, "warm up")
        mine = await _create(http, user, "private")
        other = await make_user(http)
        await add_key(http, other, fake_upstream, "sk-w-iso2")
        assert mine["id"] not in await _stored(db, [mine["id"]])
        for method, path in (
            ("GET", f"/v1/responses/{mine['id']}"),
            ("GET", f"/v1/responses/{mine['id']}/input_items"),
        ):
            response = await http.request(method, path, headers=other.headers)
            assert response.status_code == 404, (method, path)
        chained = await http.post(
            "/v1/responses",
            json={
                "model": "gpt-4o-mini",
                "input": "x",
                "previous_response_id": mine["id"],
            },
            headers=other.headers,
        )
        assert chained.status_code == 404
        got = await http.get(f"/v1/responses/{mine['id']}", headers=user.headers)
        assert got.status_code == 200


async def test_shutdown_writes_every_queued_exchange(
    settings: Settings,
    database_url: str,
    redis_url: str | None,
    fake_upstream: FakeUpstream,
    db: async_sessionmaker[AsyncSession],
) -> None:
    app = create_app(settings.model_copy(update=QUEUED))
    try:
        async with LifespanManager(
            app, startup_timeout=LIFESPAN_TIMEOUT_S, shutdown_timeout=LIFESPAN_TIMEOUT_S
        ):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://aihub"
            ) as client:
                user = await make_user(client)
                await add_key(client, user, fake_upstream, "sk-w-down")
                created = [await _create(client, user, f"q{i}") for i in range(6)]
            ids = [c["id"] for c in created]
            queued = ids[1:]  # the first went at once (the writer was idle)
            assert not set(queued) & set(await _stored(db, queued))
        stored = await _stored(db, ids)
        assert sorted(stored) == sorted(ids)
        for i, response_id in enumerate(ids):
            answer = stored[response_id]
            assert answer.content == f"echo: q{i}"
            assert answer.meta_data["response"]["id"] == response_id
            assert answer.meta_data["cost"] > 0
        async with db() as session:
            counts = await session.scalars(
                select(Thread.message_count).where(
                    Thread.id.in_([m.thread_id for m in stored.values()])
                )
            )
            assert list(counts) == [2] * 6
    finally:
        await _empty_tables(database_url)
        if redis_url:
            await _flush_redis(redis_url)


async def test_an_old_format_id_still_resolves(
    http: httpx.AsyncClient,
    user: Account,
    fake_upstream: FakeUpstream,
    db: async_sessionmaker[AsyncSession],
) -> None:
    """A response stored before the ids were random: resp_<thread>_<answer>_<token>."""
    await add_key(http, user, fake_upstream, "sk-w-old")
    token = secrets.token_hex(8)
    items = [{"type": "message", "role": "user", "content": "old question"}]
    async with db() as session:
        thread = await threads_service.add_thread(
            session, user_id=user.id, title="old", source="gateway"
        )
        question = await threads_service.add_message(
            session,
            thread=thread,
            role="user",
            content="old question",
            meta_data={"source": "gateway", "response_input": items},
        )
        answer = await threads_service.add_message(
            session,
            thread=thread,
            role="assistant",
            content="old answer",
            parent_id=question.id,
        )
        old_id = f"resp_{thread.id:x}_{answer.id:x}_{token}"
        response = {
            "id": old_id,
            "object": "response",
            "status": "completed",
            "model": "gpt-4o-mini",
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "old answer"}],
                }
            ],
        }
        threads_service.set_message_meta(
            answer,
            meta_data={
                "source": "gateway",
                "response_token": token,
                "response": response,
            },
        )
        await session.commit()
        thread_id = thread.id
    got = await http.get(f"/v1/responses/{old_id}", headers=user.headers)
    assert got.status_code == 200, got.text
    assert got.json()["output"][0]["content"][0]["text"] == "old answer"
    listed = await http.get(f"/v1/responses/{old_id}/input_items", headers=user.headers)
    assert [i["content"] for i in listed.json()["data"]] == ["old question"]
    wrong = f"resp_{thread_id:x}_{answer.id:x}_{'0' * 16}"
    assert (
        await http.get(f"/v1/responses/{wrong}", headers=user.headers)
    ).status_code == 404
    follow = await _create(http, user, "new question", previous_response_id=old_id)
    assert NEW_ID.match(follow["id"])
    assert follow["output"][0]["content"][0]["text"] == "echo: new question"
    sent = [m["content"] for m in fake_upstream.last_request.json["messages"]]
    assert sent == ["old question", "old answer", "new question"]
    assert (
        await http.get(f"/v1/responses/{follow['id']}", headers=user.headers)
    ).status_code == 200
    stored = await _stored(db, [follow["id"]])
    assert stored[follow["id"]].thread_id == thread_id
    other = await make_user(http)
    assert (
        await http.get(f"/v1/responses/{old_id}", headers=other.headers)
    ).status_code == 404
