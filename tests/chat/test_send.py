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
