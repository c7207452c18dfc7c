"""Re-attaching to an answer: GET /api/threads/{id}/stream replays the frames
after Last-Event-ID, then follows the live tail; a client hanging up does not
stop the answer; another process follows it through the database."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from aihub.runtime import runtime_of
from aihub.usage.models import RequestLog
from tests.chat.conftest import MakeClient, wait_for_message
from tests.chat.helpers import add_key, get_thread, make_thread, parse_sse
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply

ANSWER = "one two three four five six"
Frames = list[tuple[str, dict[str, Any], int]]


def _text(frames: Frames) -> str:
    return "".join(data["content"] for event, data, _ in frames if event == "delta")


async def _logged(app: FastAPI, message_id: int) -> list[RequestLog]:
    async with runtime_of(app).sessionmaker() as session:
        rows = await session.scalars(
            select(RequestLog).where(RequestLog.message_id == message_id)
        )
        return list(rows.all())


async def _listen(
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    attached: asyncio.Event,
) -> Frames:
    """Every frame of a GET stream; ``attached`` is set at its first frame."""
    raw = ""
    async with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        async for chunk in response.aiter_text():
            raw += chunk
            if "\n\n" in raw:
                attached.set()
    return parse_sse(raw)


class TestReattach:
    async def test_a_dropped_client_reattaches_and_gets_exactly_what_it_missed(
        self, app: FastAPI, live_server: LiveServer, fake_upstream: FakeUpstream
    ) -> None:
        gate = threading.Event()
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
            user = await make_user(client)
            await add_key(client, user, fake_upstream, "sk-resume-1")
            fake_upstream.script(
                "sk-resume-1",
                [Reply(text=ANSWER, chunks=6, gate=gate, gate_after_chunks=2)],
            )
            thread = await make_thread(client, user)
            raw = ""
            try:
                async with client.stream(
                    "POST",
                    f"/api/threads/{thread['id']}/stream",
                    json={"content": "Count"},
                    headers=user.headers,
                ) as response:
                    async for chunk in response.aiter_text():
                        raw += chunk
                        if raw.count("event: delta") == 2 and raw.endswith("\n\n"):
                            break  # and hang up mid-answer
                first = parse_sse(raw)
                assert [f[0] for f in first] == ["start", "delta", "delta"]
                assert [f[2] for f in first] == [1, 2, 3]
                answer_id = first[0][1]["assistant_message_id"]
                # The hang-up did not stop it: still streaming at the gate.
                detail = await get_thread(client, user, thread["id"])
                assert detail["messages"][-1]["status"] == "streaming"

                url = f"/api/threads/{thread['id']}/stream?message_id={answer_id}"
                resumed, fresh = asyncio.Event(), asyncio.Event()
                resume_task = asyncio.create_task(
                    _listen(
                        client,
                        url,
                        {**user.headers, "Last-Event-ID": str(first[-1][2])},
                        resumed,
                    )
                )
                # A second tab, from the beginning, at the same time.
                fresh_task = asyncio.create_task(
                    _listen(client, url, user.headers, fresh)
                )
                await asyncio.wait_for(fresh.wait(), 10)
                gate.set()
                rest = await asyncio.wait_for(resume_task, 10)
                whole = await asyncio.wait_for(fresh_task, 10)
            finally:
                gate.set()
            answer = await wait_for_message(
                client,
                user.headers,
                thread["id"],
                answer_id,
                until=lambda m: m["status"] != "streaming",
            )
        # The re-attached client: frames 4.. only, then done; nothing twice.
        ids = [f[2] for f in rest]
        assert ids == list(range(4, 4 + len(rest)))
        assert "start" not in [f[0] for f in rest]
        assert rest[-1][0] == "done"
        assert rest[-1][1]["status"] == "complete"
        assert _text(first) + _text(rest) == ANSWER
        # The second listener: every frame from the start, the same ids.
        assert whole[0][0] == "start"
        assert [f[2] for f in whole] == list(range(1, len(whole) + 1))
        assert whole[1:3] == first[1:3]
        assert whole[3:] == rest
        assert _text(whole) == ANSWER
        # Stored once, complete, one usage row.
        assert answer["status"] == "complete"
        assert answer["content"] == ANSWER
        assert len(await _logged(app, answer_id)) == 1

    async def test_a_finished_answer_in_this_process_is_replayed_whole(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-resume-2")
        fake_upstream.script("sk-resume-2", [Reply(text="short answer", chunks=2)])
        thread = await make_thread(client, user)
        response = await client.post(
            f"/api/threads/{thread['id']}/stream",
            json={"content": "Hi"},
            headers=user.headers,
        )
        posted = parse_sse(response.text)
        answer_id = posted[0][1]["assistant_message_id"]
        again = await client.get(
            f"/api/threads/{thread['id']}/stream?message_id={answer_id}",
            headers=user.headers,
        )
        assert again.status_code == 200
        assert parse_sse(again.text) == posted
        tail = await client.get(
            f"/api/threads/{thread['id']}/stream",  # its latest answer
            headers={**user.headers, "Last-Event-ID": "2"},
        )
        assert parse_sse(tail.text) == posted[2:]


class TestStoredAnswers:
    async def test_a_finished_answer_elsewhere_comes_as_start_text_done(
        self,
        client: httpx.AsyncClient,
        make_client: MakeClient,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-resume-3")
        fake_upstream.script("sk-resume-3", [Reply(text="all of it here", chunks=3)])
        thread = await make_thread(client, user)
        sent = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Hi"},
            headers=user.headers,
        )
        answer_id = sent.json()["id"]
        other = await make_client()  # a process that never ran it
        response = await other.get(
            f"/api/threads/{thread['id']}/stream?message_id={answer_id}",
            headers=user.headers,
        )
        frames = parse_sse(response.text)
        assert [(f[0], f[2]) for f in frames] == [
            ("start", 1),
            ("delta", 2),
            ("done", 3),
        ]
        assert frames[0][1]["assistant_message_id"] == answer_id
        assert frames[0][1]["thread_id"] == thread["id"]
        assert frames[1][1]["content"] == "all of it here"
        done = frames[2][1]
        assert done["status"] == "complete"
        assert done["usage"] == sent.json()["meta_data"]["tokens"]

    async def test_an_answer_running_in_another_process_is_followed_by_polling(
        self,
        client: httpx.AsyncClient,
        make_client: MakeClient,
        fake_upstream: FakeUpstream,
    ) -> None:
        other = await make_client()  # up before the answer starts
        gate = threading.Event()
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-resume-4")
        fake_upstream.script(
            "sk-resume-4",
            [Reply(text="slow and steady wins", chunks=4, gate=gate)],
        )
        thread = await make_thread(client, user)
        try:
            post = asyncio.create_task(
                client.post(
                    f"/api/threads/{thread['id']}/stream",
                    json={"content": "Go"},
                    headers=user.headers,
                )
            )
            await fake_upstream.wait_for_requests(1)
            for _ in range(200):
                last = (await get_thread(client, user, thread["id"]))["messages"][-1]
                if last["role"] == "assistant" and last["content"]:
                    break
                await asyncio.sleep(0.05)
            assert last["status"] == "streaming"
            follow = asyncio.create_task(
                other.get(
                    f"/api/threads/{thread['id']}/stream?message_id={last['id']}",
                    headers=user.headers,
                )
            )
            await asyncio.sleep(0)
            gate.set()
            posted = parse_sse((await asyncio.wait_for(post, 10)).text)
            followed = parse_sse((await asyncio.wait_for(follow, 10)).text)
        finally:
            gate.set()
        assert followed[0][0] == "start"
        assert [f[2] for f in followed] == list(range(1, len(followed) + 1))
        assert _text(followed) == _text(posted) == "slow and steady wins"
        assert followed[-1][0] == "done"
        assert followed[-1][1]["status"] == "complete"


class TestOwnership:
    async def test_another_users_thread_or_a_question_is_not_found(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await make_user(client)
        stranger = await make_user(client)
        await add_key(client, owner, fake_upstream, "sk-resume-5")
        fake_upstream.script("sk-resume-5", [Reply(text="mine", chunks=1)])
        thread = await make_thread(client, owner)
        sent = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Hi"},
            headers=owner.headers,
        )
        answer = sent.json()
        url = f"/api/threads/{thread['id']}/stream"
        foreign = await client.get(
            f"{url}?message_id={answer['id']}", headers=stranger.headers
        )
        assert foreign.status_code == 404
        assert foreign.json()["error"] is True
        assert foreign.json()["error_type"]
        question = await client.get(
            f"{url}?message_id={answer['parent_id']}", headers=owner.headers
        )
        assert question.status_code == 404
        assert question.json()["error"] is True
        elsewhere = await make_thread(client, owner)
        wrong_thread = await client.get(
            f"/api/threads/{elsewhere['id']}/stream?message_id={answer['id']}",
            headers=owner.headers,
        )
        assert wrong_thread.status_code == 404
        bad_id = await client.get(
            f"{url}?message_id={answer['id']}",
            headers={**owner.headers, "Last-Event-ID": "x"},
        )
        assert bad_id.status_code == 422
        assert bad_id.json()["error"] is True
