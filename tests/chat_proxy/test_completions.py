"""POST /api/chat/completions (seed 004): OpenAI's request and response, with
chatId/parentId, streaming as OpenAI chunks, and the official openai SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from tests.chat_proxy.helpers import (
    assert_seed_error,
    parse_chunks,
    sent_messages,
    tree,
    user_with_key,
)
from tests.conftest import LiveServer
from tests.fakes.upstream import FakeUpstream, Reply

HISTORY = [
    {"role": "system", "content": "Ты эксперт по JavaScript."},
    {"role": "user", "content": "Как создать класс?"},
    {"role": "assistant", "content": "class A {}"},
    {"role": "user", "content": "А наследование?"},
]


class TestCompletions:
    async def test_openai_response_with_chat_id_and_the_whole_history_stored(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-full")
        fake_upstream.script("sk-pc-full", [Reply(text="class B extends A {}")])
        response = await client.post(
            "/api/chat/completions",
            json={"messages": HISTORY, "model": "gpt-4o-mini", "max_tokens": 50},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "chat.completion"
        assert body["choices"] == [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "class B extends A {}"},
                "finish_reason": "stop",
            }
        ]
        assert set(body["usage"]) == {
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
        }
        assert body["chatId"].isdigit()
        assert body["parentId"].isdigit()
        assert sent_messages(fake_upstream) == HISTORY
        assert fake_upstream.last_request.json["max_completion_tokens"] == 50
        # A new chat named as the seed names it, holding every message.
        response = await client.get(
            f"/api/chats/{body['chatId']}", headers=user.headers
        )
        history = response.json()["history"]
        assert history["name"] == "OpenAI API Chat"
        assert [(m["role"], m["content"]) for m in history["messages"]] == [
            *[(m["role"], m["content"]) for m in HISTORY],
            ("assistant", "class B extends A {}"),
        ]

    async def test_with_chat_id_only_the_new_turn_is_added(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-cont")
        fake_upstream.script("sk-pc-cont", [Reply(text="a1"), Reply(text="a2")])
        first = (
            await client.post(
                "/api/chat/completions",
                json={"messages": [{"role": "user", "content": "q1"}]},
                headers=user.headers,
            )
        ).json()
        response = await client.post(
            "/api/chat/completions",
            json={
                "messages": [
                    {"role": "user", "content": "q1"},
                    {"role": "assistant", "content": "a1"},
                    {"role": "user", "content": "q2"},
                ],
                "chatId": first["chatId"],
                "parentId": first["parentId"],
            },
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["chatId"] == first["chatId"]
        assert [m["content"] for m in sent_messages(fake_upstream)] == [
            "q1",
            "a1",
            "q2",
        ]
        contents = [m["content"] for m in await tree(client, user, first["chatId"])]
        assert contents == ["q1", "a1", "q2", "a2"]

    async def test_openai_image_url_parts_and_seed_image_parts(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-image")
        url = "https://cdn.example.com/a.jpg"
        content = [
            {"type": "text", "text": "Что на картинке?"},
            {"type": "image", "image": url},
            {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
        ]
        response = await client.post(
            "/api/chat/completions",
            json={
                "messages": [{"role": "user", "content": content}],
                "model": "gpt-4o",
            },
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert sent_messages(fake_upstream)[0]["content"] == [
            {"type": "text", "text": "Что на картинке?"},
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "image_url", "image_url": {"url": url}},
        ]

    async def test_a_truncated_answer_says_length(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-length")
        fake_upstream.script(
            "sk-pc-length", [Reply(text="cut short", finish_reason="length")]
        )
        response = await client.post(
            "/api/chat/completions",
            json={"messages": [{"role": "user", "content": "long"}], "max_tokens": 2},
            headers=user.headers,
        )
        assert response.json()["choices"][0]["finish_reason"] == "length"

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"messages": "hi"},
            {"messages": [{"role": "assistant", "content": "a"}]},
            {"messages": [{"role": "user", "content": "q"}], "stream": "yes please"},
            {"messages": [{"role": "user", "content": "q"}], "parentId": "5"},
            {"messages": [{"role": "function", "content": "q"}]},
        ],
    )
    async def test_bad_requests_are_rejected_in_the_seed_shape(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream, body: object
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-bad")
        response = await client.post(
            "/api/chat/completions", json=body, headers=user.headers
        )
        assert_seed_error(response, 422, "validation_error")
        assert fake_upstream.requests_for("sk-pc-bad") == []

    async def test_another_users_chat_is_not_found_and_unchanged(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-pc-owner")
        other = await user_with_key(client, fake_upstream, "sk-pc-other")
        first = (
            await client.post(
                "/api/chat/completions",
                json={"messages": [{"role": "user", "content": "mine"}]},
                headers=owner.headers,
            )
        ).json()
        before = await tree(client, owner, first["chatId"])
        for stream in (False, True):
            response = await client.post(
                "/api/chat/completions",
                json={
                    "messages": [{"role": "user", "content": "x"}],
                    "chatId": first["chatId"],
                    "stream": stream,
                },
                headers=other.headers,
            )
            assert_seed_error(response, 404, "not_found")
        assert await tree(client, owner, first["chatId"]) == before


class TestStreaming:
    async def test_openai_chunks_then_done(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-stream")
        fake_upstream.script("sk-pc-stream", [Reply(text="one two three", chunks=3)])
        response = await client.post(
            "/api/chat/completions",
            json={"messages": [{"role": "user", "content": "count"}], "stream": True},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks, done = parse_chunks(response.text)
        assert done
        assert all(c["object"] == "chat.completion.chunk" for c in chunks)
        assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
        assert text == "one two three"
        assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"
        assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
        assert not any("usage" in c for c in chunks)
        chat_ids = {c["chatId"] for c in chunks}
        parent_ids = {c["parentId"] for c in chunks}
        assert len(chat_ids) == 1
        assert len(parent_ids) == 1
        assert len({c["id"] for c in chunks}) == 1
        # The streamed answer is stored; its id continues the chat.
        (chat_id,), (parent_id,) = chat_ids, parent_ids
        messages = await tree(client, user, chat_id)
        assert (messages[-1]["id"], messages[-1]["content"]) == (
            int(parent_id),
            "one two three",
        )
        fake_upstream.script("sk-pc-stream", [Reply(text="four")])
        response = await client.post(
            "/api/chat/completions",
            json={
                "messages": [{"role": "user", "content": "more"}],
                "chatId": chat_id,
                "parentId": parent_id,
                "stream": True,
            },
            headers=user.headers,
        )
        chunks, done = parse_chunks(response.text)
        assert done
        assert chunks[0]["chatId"] == chat_id
        assert [m["content"] for m in sent_messages(fake_upstream)] == [
            "count",
            "one two three",
            "more",
        ]

    async def test_include_usage_adds_a_usage_chunk(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-usage")
        response = await client.post(
            "/api/chat/completions",
            json={
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            headers=user.headers,
        )
        chunks, done = parse_chunks(response.text)
        assert done
        last = chunks[-1]
        assert last["choices"] == []
        usage = last["usage"]
        assert (
            usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        )
        assert usage["completion_tokens"] > 0

    async def test_an_upstream_failure_mid_stream_is_an_error_chunk(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-drop")
        fake_upstream.script(
            "sk-pc-drop",
            [Reply(text="kept words lost", chunks=3, drop_after_chunks=1)],
        )
        response = await client.post(
            "/api/chat", json={"message": "go", "stream": True}, headers=user.headers
        )
        assert response.status_code == 200, response.text
        chunks, done = parse_chunks(response.text)
        assert done
        error = chunks[-1]["error"]
        assert error["message"]
        assert error["type"]
        text = "".join(
            c["choices"][0]["delta"].get("content", "")
            for c in chunks
            if "choices" in c
        )
        assert text == "kept "
        chat_id = chunks[0]["chatId"]
        messages = await tree(client, user, chat_id)
        assert (messages[-1]["content"], messages[-1]["status"]) == ("kept ", "error")

    async def test_an_error_before_the_stream_is_an_http_error(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-pc-early")
        response = await client.post(
            "/api/chat/completions",
            json={
                "messages": [{"role": "user", "content": "x"}],
                "chatId": "424242",
                "stream": True,
            },
            headers=user.headers,
        )
        assert_seed_error(response, 404, "not_found")


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


class TestOpenAISdk:
    """The seed's own example: the OpenAI SDK with base_url .../api."""

    async def test_create_stream_and_list_models(
        self,
        http: httpx.AsyncClient,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await user_with_key(http, fake_upstream, "sk-pc-sdk")
        fake_upstream.script(
            "sk-pc-sdk", [Reply(text="Привет!"), Reply(text="a long story", chunks=3)]
        )
        token = user.headers["Authorization"].removeprefix("Bearer ")
        sdk = openai.AsyncOpenAI(
            base_url=f"{live_server.url}/api", api_key=token, max_retries=0
        )
        completion = await sdk.chat.completions.create(
            messages=[{"role": "user", "content": "Привет, как дела?"}],
            model="gpt-4o-mini",
        )
        assert completion.choices[0].message.content == "Привет!"
        extra = completion.model_extra or {}
        assert extra["chatId"].isdigit()
        assert extra["parentId"].isdigit()
        stream = await sdk.chat.completions.create(
            messages=[{"role": "user", "content": "Расскажи историю"}],
            model="gpt-4o-mini",
            stream=True,
        )
        parts = [chunk.choices[0].delta.content or "" async for chunk in stream]
        assert "".join(parts) == "a long story"
        models = await sdk.models.list()
        assert "gpt-4o-mini" in {m.id for m in models.data}
        await sdk.close()

    async def test_a_mid_stream_error_raises_in_the_sdk(
        self,
        http: httpx.AsyncClient,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        user = await user_with_key(http, fake_upstream, "sk-pc-sdk-drop")
        fake_upstream.script(
            "sk-pc-sdk-drop", [Reply(text="a b c", chunks=3, drop_after_chunks=1)]
        )
        token = user.headers["Authorization"].removeprefix("Bearer ")
        sdk = openai.AsyncOpenAI(
            base_url=f"{live_server.url}/api", api_key=token, max_retries=0
        )
        stream = await sdk.chat.completions.create(
            messages=[{"role": "user", "content": "go"}],
            model="gpt-4o-mini",
            stream=True,
        )
        with pytest.raises(openai.APIError):
            async for _ in stream:
                pass
        await sdk.close()
