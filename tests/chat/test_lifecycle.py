"""Nothing typed is lost: stop (here and from another process), upstream
failure, timeout and restart keep the partial answer; a client disconnect
does not end the answer at all."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from aihub.runtime import runtime_of
from aihub.threads.models import Message
from aihub.usage.models import RequestLog
from tests.chat.conftest import MakeClient, needs_redis, wait_for_message
from tests.chat.helpers import add_key, get_thread, make_thread, parse_sse
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply


async def _held_stream(
    client: httpx.AsyncClient,
    upstream: FakeUpstream,
    secret: str,
    gate: threading.Event,
) -> tuple[Account, dict[str, Any], asyncio.Task[httpx.Response]]:
    """A stream that sent its first chunk and waits at the gate."""
    user = await make_user(client)
    await add_key(client, user, upstream, secret)
    upstream.script(secret, [Reply(text="alpha beta gamma delta", chunks=4, gate=gate)])
    thread = await make_thread(client, user)
    task = asyncio.create_task(
        client.post(
            f"/api/threads/{thread['id']}/stream",
            json={"content": "Tell me"},
            headers=user.headers,
        )
    )
    await upstream.wait_for_requests(1)
    await _until_text_stored(client, user, thread["id"])
    return user, thread, task


async def _until_text_stored(
    client: httpx.AsyncClient, user: Account, thread_id: int
) -> dict[str, Any]:
    for _ in range(200):
        detail = await get_thread(client, user, thread_id)
        last: dict[str, Any] = detail["messages"][-1]
        if last["role"] == "assistant" and last["content"]:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError("the partial answer was never stored")


async def _logged(app: FastAPI, message_id: int) -> list[RequestLog]:
    async with runtime_of(app).sessionmaker() as session:
        rows = await session.scalars(
            select(RequestLog).where(RequestLog.message_id == message_id)
        )
        return list(rows.all())


class TestStop:
    async def test_stop_keeps_the_partial_text_as_stopped(
        self, app: FastAPI, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        gate = threading.Event()
        try:
            user, thread, task = await _held_stream(
                client, fake_upstream, "sk-stop-1", gate
            )
            partial = await _until_text_stored(client, user, thread["id"])
            assert partial["status"] == "streaming"
            response = await client.post(
                f"/api/threads/{thread['id']}/stream/stop", headers=user.headers
            )
            assert response.status_code == 200
            assert response.json() == {"success": True, "message": "Генерация прервана"}
            frames = parse_sse((await asyncio.wait_for(task, 10)).text)
        finally:
            gate.set()
        done = frames[-1]
        assert done[0] == "done"
        assert done[1]["status"] == "stopped"
        detail = await get_thread(client, user, thread["id"])
        answer = detail["messages"][-1]
        assert answer["status"] == "stopped"
        assert answer["content"] == "alpha "
        assert answer["meta_data"]["reason"] == "stopped_by_user"
        assert answer["meta_data"]["tokens"]["completion_tokens"] > 0
        rows = await _logged(app, answer["id"])
        assert [(r.status, r.cost > 0) for r in rows] == [("stopped", True)]

    async def test_stop_with_nothing_running_says_so(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/stream/stop", headers=user.headers
        )
        assert response.status_code == 200
        assert response.json()["success"] is False

    async def test_another_users_stop_is_not_found_and_changes_nothing(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        gate = threading.Event()
        try:
            _user, thread, task = await _held_stream(
                client, fake_upstream, "sk-stop-2", gate
            )
            intruder = await make_user(client)
            response = await client.post(
                f"/api/threads/{thread['id']}/stream/stop", headers=intruder.headers
            )
            assert response.status_code == 404
            assert response.json()["error_type"] == "not_found"
            gate.set()
            frames = parse_sse((await asyncio.wait_for(task, 10)).text)
        finally:
            gate.set()
        assert frames[-1][1]["status"] == "complete"

    @needs_redis
    async def test_stop_from_a_second_process(
        self,
        client: httpx.AsyncClient,
        make_client: MakeClient,
        fake_upstream: FakeUpstream,
    ) -> None:
        other = await make_client()
        gate = threading.Event()
        try:
            user, thread, task = await _held_stream(
                client, fake_upstream, "sk-stop-3", gate
            )
            response = await other.post(
                f"/api/threads/{thread['id']}/stream/stop", headers=user.headers
            )
            assert response.json()["success"] is True
            # Answered once the holder stored the partial text.
            detail = await get_thread(other, user, thread["id"])
            assert detail["messages"][-1]["status"] == "stopped"
            frames = parse_sse((await asyncio.wait_for(task, 10)).text)
        finally:
            gate.set()
        assert frames[-1][1]["status"] == "stopped"
        assert detail["messages"][-1]["content"] == "alpha "


class TestDisconnect:
    async def test_client_gone_mid_stream_lets_the_answer_complete(
        self,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        gate = threading.Event()
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
            user = await make_user(client)
            await add_key(client, user, fake_upstream, "sk-gone-1")
            fake_upstream.script(
                "sk-gone-1", [Reply(text="first second third", chunks=3, gate=gate)]
            )
            thread = await make_thread(client, user)
            try:
                async with client.stream(
                    "POST",
                    f"/api/threads/{thread['id']}/stream",
                    json={"content": "Go"},
                    headers=user.headers,
                ) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("event: delta"):
                            break  # and hang up
                await fake_upstream.wait_for_requests(1)
                detail = await get_thread(client, user, thread["id"])
                answer_id = detail["messages"][-1]["id"]
                assert detail["messages"][-1]["status"] == "streaming"
                gate.set()  # the rest of the answer arrives with nobody listening
                answer = await wait_for_message(
                    client,
                    user.headers,
                    thread["id"],
                    answer_id,
                    until=lambda m: m["status"] != "streaming",
                )
            finally:
                gate.set()
        assert answer["status"] == "complete"
        assert answer["content"] == "first second third"
        assert "reason" not in answer["meta_data"]
        assert answer["meta_data"]["tokens"]["completion_tokens"] > 0


class TestUpstreamFailures:
    async def test_a_dropped_stream_keeps_its_text_with_status_error(
        self, app: FastAPI, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-drop-1")
        fake_upstream.script(
            "sk-drop-1", [Reply(text="kept words lost", chunks=3, drop_after_chunks=1)]
        )
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/stream",
            json={"content": "Go"},
            headers=user.headers,
        )
        frames = parse_sse(response.text)
        assert [f[0] for f in frames][-2:] == ["error", "done"]
        assert frames[-2][1]["error"] is True
        assert frames[-1][1]["status"] == "error"
        # Never retried once a byte reached the client.
        assert len(fake_upstream.requests) == 1
        answer = (await get_thread(client, user, thread["id"]))["messages"][-1]
        assert (answer["status"], answer["content"]) == ("error", "kept ")
        assert answer["meta_data"]["error"]["error_type"] == "api_error"
        rows = await _logged(app, answer["id"])
        assert [r.status for r in rows] == ["error"]

    async def test_a_5xx_before_the_first_byte_is_retried(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-retry-1")
        fake_upstream.script(
            "sk-retry-1", [Reply(status=500), Reply(text="second time lucky")]
        )
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Go"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["content"] == "second time lucky"
        assert len(fake_upstream.requests) == 2

    async def test_send_without_a_key_keeps_the_question(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Anyone there?"},
            headers=user.headers,
        )
        assert response.status_code == 400
        assert response.json()["error_type"] == "api_key_not_found"
        detail = await get_thread(client, user, thread["id"])
        assert [(m["role"], m["content"]) for m in detail["messages"]] == [
            ("user", "Anyone there?")
        ]

    @pytest.mark.parametrize(
        ("reply", "status", "error_type"),
        [
            (Reply(status=429, retry_after=600), 429, "rate_limit"),
            (Reply(status=402), 402, "billing"),
            (Reply(status=401), 400, "api_key_not_found"),
            (
                Reply(status=400, error_code="context_length_exceeded"),
                400,
                "invalid_context",
            ),
        ],
    )
    async def test_send_maps_upstream_errors_to_seed_types(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        reply: Reply,
        status: int,
        error_type: str,
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-err-1")
        fake_upstream.script("sk-err-1", default=reply)
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/send?timeout=2",
            json={"content": "Go"},
            headers=user.headers,
        )
        assert response.status_code == status, response.text
        body = response.json()
        assert body["error"] is True
        assert body["error_type"] == error_type
        answer = (await get_thread(client, user, thread["id"]))["messages"][-1]
        assert answer["role"] == "assistant"
        assert answer["status"] == "error"

    async def test_timeout_interrupts_and_keeps_the_text(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-slow-1")
        fake_upstream.script(
            "sk-slow-1",
            [Reply(text="quick then slow", chunks=3, stall_after_chunks=1, stall_s=5)],
        )
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/stream?timeout=0.5",
            json={"content": "Go"},
            headers=user.headers,
        )
        frames = parse_sse(response.text)
        assert frames[-2][1]["error_type"] == "timeout"
        assert frames[-1][1]["status"] == "interrupted"
        answer = (await get_thread(client, user, thread["id"]))["messages"][-1]
        assert answer["status"] == "interrupted"
        streamed = "".join(f[1]["content"] for f in frames if f[0] == "delta")
        assert streamed
        assert answer["content"] == streamed
        assert "slow" not in streamed
        assert answer["meta_data"]["reason"] == "timeout"


class TestRestart:
    async def test_streaming_left_by_a_dead_process_becomes_interrupted(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        make_client: MakeClient,
    ) -> None:
        user = await make_user(client)
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/messages",
            json={"role": "assistant", "content": "half an ans"},
            headers=user.headers,
        )
        message_id = response.json()["id"]
        async with runtime_of(app).sessionmaker() as session:
            await session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(
                    status="streaming",
                    provider="openai",
                    model="gpt-4o-mini",
                    meta_data={"prompt_tokens_estimate": 12},
                )
            )
            await session.commit()
        # With Redis the restarted process waits until the message has been
        # quiet, and Redis readable, for a heartbeat TTL (short here).
        restarted = await make_client(
            chat_heartbeat_ttl_s=0.3, chat_sweep_interval_s=0.1
        )
        answer = await wait_for_message(
            restarted,
            user.headers,
            thread["id"],
            message_id,
            until=lambda m: m["status"] != "streaming",
        )
        assert answer["status"] == "interrupted"
        assert answer["content"] == "half an ans"
        assert answer["meta_data"]["reason"] == "server_restart"
        rows = await _logged(app, message_id)
        assert len(rows) == 1
        assert rows[0].status == "interrupted"
        assert rows[0].prompt_tokens == 12
        assert rows[0].completion_tokens > 0

    @needs_redis
    async def test_a_live_stream_of_another_process_is_left_alone(
        self,
        client: httpx.AsyncClient,
        make_client: MakeClient,
        fake_upstream: FakeUpstream,
    ) -> None:
        gate = threading.Event()
        try:
            user, thread, task = await _held_stream(
                client, fake_upstream, "sk-live-1", gate
            )
            second = await make_client()
            detail = await get_thread(second, user, thread["id"])
            assert detail["messages"][-1]["status"] == "streaming"
            gate.set()
            frames = parse_sse((await asyncio.wait_for(task, 10)).text)
        finally:
            gate.set()
        assert frames[-1][1]["status"] == "complete"
