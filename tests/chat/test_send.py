"""POST /api/threads/{id}/send and /stream against the fake upstream."""

from __future__ import annotations

import httpx

from tests.chat.helpers import add_key, get_thread, make_thread, stream
from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply


class TestSend:
    async def test_send_stores_both_messages_with_seed_metadata(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-send-1")
        fake_upstream.script("sk-send-1", [Reply(text="Hello there, friend.")])
        thread = await make_thread(client, user, system_prompt="Be brief")
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Hi!"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["role"] == "assistant"
        assert answer["content"] == "Hello there, friend."
        assert answer["provider"] == "openai"
        assert answer["model"] == "gpt-4o-mini"
        assert answer["status"] == "complete"
        meta = answer["meta_data"]
        assert meta["with_context"] is True
        assert meta["tokens"]["total_tokens"] == (
            meta["tokens"]["prompt_tokens"] + meta["tokens"]["completion_tokens"]
        )
        assert meta["cost"] > 0
        assert answer["tokens"] == meta["tokens"]["completion_tokens"]
        sent = fake_upstream.last_request.json
        assert sent["messages"][0] == {"role": "system", "content": "Be brief"}
        assert sent["messages"][-1] == {"role": "user", "content": "Hi!"}
        detail = await get_thread(client, user, thread["id"])
        roles = [m["role"] for m in detail["messages"]]
        assert roles == ["system", "user", "assistant"]

    async def test_stream_frames(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-stream-1")
        fake_upstream.script("sk-stream-1", [Reply(text="one two three", chunks=3)])
        thread = await make_thread(client, user)
        frames = await stream(
            client, f"/api/threads/{thread['id']}/stream", user, {"content": "Count"}
        )
        events = [f[0] for f in frames]
        assert events[0] == "start"
        assert events[-1] == "done"
        assert [f[2] for f in frames] == list(range(1, len(frames) + 1))
        text = "".join(f[1]["content"] for f in frames if f[0] == "delta")
        assert text == "one two three"
        done = frames[-1][1]
        assert done["status"] == "complete"
        detail = await get_thread(client, user, thread["id"])
        last = detail["messages"][-1]
        assert last["id"] == done["assistant_message_id"]
        assert last["content"] == "one two three"
        assert frames[0][1]["user_message_id"] == detail["messages"][-2]["id"]


class TestSendAgainAfterAFailure:
    """Sending the unanswered last question again answers it (as regenerate would)
    instead of storing it twice in a row."""

    async def test_same_question_after_a_failed_answer_is_answered_once(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-again-1")
        refused = Reply(status=400, error_code="context_length_exceeded")
        fake_upstream.script("sk-again-1", [refused, Reply(text="Now it works.")])
        thread = await make_thread(client, user)
        url = f"/api/threads/{thread['id']}/send"
        failed = await client.post(url, json={"content": "Q?"}, headers=user.headers)
        assert failed.status_code == 400, failed.text
        again = await client.post(url, json={"content": "Q?"}, headers=user.headers)
        assert again.status_code == 200, again.text
        sent = fake_upstream.last_request.json["messages"]
        assert [m["content"] for m in sent if m["role"] == "user"] == ["Q?"]
        detail = await get_thread(client, user, thread["id"])
        path = [(m["role"], m["content"]) for m in detail["messages"]]
        assert path == [("user", "Q?"), ("assistant", "Now it works.")]
        question_id = detail["messages"][0]["id"]
        assert again.json()["parent_id"] == question_id

    async def test_same_question_without_an_answer_is_not_stored_twice(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        thread = await make_thread(client, user)
        url = f"/api/threads/{thread['id']}/send"
        first = await client.post(url, json={"content": "Hi"}, headers=user.headers)
        assert first.json()["error_type"] == "api_key_not_found"
        await add_key(client, user, fake_upstream, "sk-again-2")
        fake_upstream.script("sk-again-2", [Reply(text="Hello.")])
        again = await client.post(url, json={"content": "Hi"}, headers=user.headers)
        assert again.status_code == 200, again.text
        detail = await get_thread(client, user, thread["id"])
        path = [(m["role"], m["content"]) for m in detail["messages"]]
        assert path == [("user", "Hi"), ("assistant", "Hello.")]

    async def test_a_different_question_after_a_failure_is_a_new_message(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-again-3")
        refused = Reply(status=400, error_code="context_length_exceeded")
        fake_upstream.script("sk-again-3", [refused, Reply(text="B.")])
        thread = await make_thread(client, user)
        url = f"/api/threads/{thread['id']}/send"
        await client.post(url, json={"content": "A?"}, headers=user.headers)
        again = await client.post(url, json={"content": "B?"}, headers=user.headers)
        assert again.status_code == 200, again.text
        detail = await get_thread(client, user, thread["id"])
        path = [(m["role"], m["content"]) for m in detail["messages"]]
        assert path == [
            ("user", "A?"),
            ("assistant", ""),
            ("user", "B?"),
            ("assistant", "B."),
        ]
