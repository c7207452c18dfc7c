"""POST /api/chat (seed 004): message or messages, chatId/parentId, branching,
system messages, images, isolation and bad input."""

from __future__ import annotations

import httpx
import pytest

from tests.chat.helpers import add_key
from tests.chat_proxy.helpers import (
    assert_seed_error,
    chat,
    sent_messages,
    tree,
    user_with_key,
)
from tests.factories import make_user
from tests.fakes.upstream import FakeUpstream, Reply

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
)


class TestFirstMessage:
    async def test_a_message_opens_a_chat_and_answers_in_the_seed_shape(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-first")
        fake_upstream.script("sk-px-first", [Reply(text="Привет! Чем помочь?")])
        answer = await chat(client, user, {"message": "Привет!"})
        assert answer["object"] == "chat.completion"
        assert answer["choices"][0]["message"] == {
            "role": "assistant",
            "content": "Привет! Чем помочь?",
        }
        assert answer["choices"][0]["finish_reason"] == "stop"
        usage = answer["usage"]
        assert (
            usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        )
        assert usage["completion_tokens"] > 0
        assert isinstance(answer["chatId"], str)
        assert answer["chatId"].isdigit()
        assert isinstance(answer["parentId"], str)
        assert answer["parentId"].isdigit()
        assert answer["id"] == f"chatcmpl-{answer['parentId']}"
        assert answer["model"] == "gpt-4o-mini"
        assert sent_messages(fake_upstream) == [{"role": "user", "content": "Привет!"}]
        # The chat is an aihub thread of source "chat" holding both messages.
        response = await client.get(
            f"/api/threads/{answer['chatId']}", headers=user.headers
        )
        assert response.status_code == 200, response.text
        thread = response.json()
        assert thread["title"] == "Привет!"
        messages = thread["messages"]
        assert [(m["role"], m["content"]) for m in messages] == [
            ("user", "Привет!"),
            ("assistant", "Привет! Чем помочь?"),
        ]
        assert str(messages[-1]["id"]) == answer["parentId"]

    async def test_the_model_asked_for_answers(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-model")
        answer = await chat(client, user, {"message": "hi", "model": "gpt-4o"})
        assert answer["model"] == "gpt-4o"
        assert fake_upstream.last_request.json["model"] == "gpt-4o"

    async def test_provider_slash_model_names_the_provider(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-slash")
        answer = await chat(client, user, {"message": "hi", "model": "openai/gpt-4o"})
        assert (answer["provider"], answer["model"]) == ("openai", "gpt-4o")
        assert fake_upstream.last_request.json["model"] == "gpt-4o"

    async def test_messages_with_a_system_message(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-system")
        body = {
            "messages": [
                {"role": "system", "content": "Отвечай как пират"},
                {"role": "user", "content": "Как дела?"},
            ]
        }
        first = await chat(client, user, body)
        assert sent_messages(fake_upstream) == [
            {"role": "system", "content": "Отвечай как пират"},
            {"role": "user", "content": "Как дела?"},
        ]
        # The system message governs the rest of the chat, and sending it
        # again does not store it twice.
        await chat(
            client,
            user,
            {**body, "chatId": first["chatId"], "parentId": first["parentId"]},
        )
        sent = sent_messages(fake_upstream)
        assert sent[0] == {"role": "system", "content": "Отвечай как пират"}
        assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
        await chat(
            client,
            user,
            {"message": "И ещё?", "chatId": first["chatId"]},
        )
        assert sent_messages(fake_upstream)[0]["content"] == "Отвечай как пират"
        roles = [m["role"] for m in await tree(client, user, first["chatId"])]
        assert roles.count("system") == 1

    async def test_a_new_system_message_applies_from_then_on(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-system-2")
        first = await chat(client, user, {"message": "one"})
        body = {
            "messages": [
                {"role": "system", "content": "Be terse"},
                {"role": "user", "content": "two"},
            ],
            "chatId": first["chatId"],
            "parentId": first["parentId"],
        }
        second = await chat(client, user, body)
        assert sent_messages(fake_upstream)[0] == {
            "role": "system",
            "content": "Be terse",
        }
        await chat(
            client,
            user,
            {
                "message": "three",
                "chatId": first["chatId"],
                "parentId": second["parentId"],
            },
        )
        sent = sent_messages(fake_upstream)
        assert sent[0] == {"role": "system", "content": "Be terse"}
        assert [m["content"] for m in sent[1:] if m["role"] == "user"] == [
            "one",
            "two",
            "three",
        ]


class TestContinuation:
    async def test_chat_id_and_parent_id_continue_the_conversation(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-cont")
        fake_upstream.script("sk-px-cont", [Reply(text="4"), Reply(text="7")])
        first = await chat(client, user, {"message": "Сколько будет 2+2?"})
        second = await chat(
            client,
            user,
            {
                "message": "А результат плюс 3?",
                "chatId": first["chatId"],
                "parentId": first["parentId"],
            },
        )
        assert second["chatId"] == first["chatId"]
        assert second["parentId"] != first["parentId"]
        assert second["choices"][0]["message"]["content"] == "7"
        assert sent_messages(fake_upstream) == [
            {"role": "user", "content": "Сколько будет 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "А результат плюс 3?"},
        ]

    async def test_chat_id_alone_continues_from_the_newest_message(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-newest")
        fake_upstream.script("sk-px-newest", [Reply(text="a1"), Reply(text="a2")])
        first = await chat(client, user, {"message": "q1"})
        await chat(client, user, {"message": "q2", "chatId": first["chatId"]})
        assert [m["content"] for m in sent_messages(fake_upstream)] == [
            "q1",
            "a1",
            "q2",
        ]

    async def test_an_older_parent_id_branches(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-branch")
        fake_upstream.script(
            "sk-px-branch", [Reply(text="a1"), Reply(text="a2"), Reply(text="a3")]
        )
        first = await chat(client, user, {"message": "q1"})
        chat_id = first["chatId"]
        await chat(
            client,
            user,
            {"message": "q2", "chatId": chat_id, "parentId": first["parentId"]},
        )
        third = await chat(
            client,
            user,
            {"message": "q3", "chatId": chat_id, "parentId": first["parentId"]},
        )
        # q2 and its answer are not in the new branch's context.
        assert [m["content"] for m in sent_messages(fake_upstream)] == [
            "q1",
            "a1",
            "q3",
        ]
        messages = await tree(client, user, chat_id)
        by_content = {m["content"]: m for m in messages}
        assert by_content["q2"]["parent_id"] == int(first["parentId"])
        assert by_content["q3"]["parent_id"] == int(first["parentId"])
        assert by_content["a3"]["id"] == int(third["parentId"])
        # The chat's history now shows the newest branch.
        response = await client.get(f"/api/chats/{chat_id}", headers=user.headers)
        history = response.json()["history"]["messages"]
        assert [m["content"] for m in history] == ["q1", "a1", "q3", "a3"]
        assert history[2]["parentId"] == first["parentId"]

    async def test_a_created_chat_takes_its_first_message(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-created")
        response = await client.post(
            "/api/chats", json={"name": "Работа"}, headers=user.headers
        )
        assert response.status_code == 201, response.text
        chat_id = response.json()["chatId"]
        answer = await chat(client, user, {"message": "hello", "chatId": chat_id})
        assert answer["chatId"] == chat_id
        assert sent_messages(fake_upstream) == [{"role": "user", "content": "hello"}]


class TestImages:
    async def test_image_parts_go_upstream_as_image_url_parts(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-image")
        url = "https://cdn.example.com/user/file_cat.jpg?key=abc"
        answer = await chat(
            client,
            user,
            {
                "message": [
                    {"type": "text", "text": "Опишите объекты на этом изображении"},
                    {"type": "image", "image": url},
                    {"type": "image", "image": PNG},
                ],
                "model": "gpt-4o",
            },
        )
        assert sent_messages(fake_upstream) == [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Опишите объекты на этом изображении"},
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "image_url", "image_url": {"url": PNG}},
                ],
            }
        ]
        response = await client.get(
            f"/api/chats/{answer['chatId']}", headers=user.headers
        )
        question = response.json()["history"]["messages"][0]
        assert question["content"] == [
            {"type": "text", "text": "Опишите объекты на этом изображении"},
            {"type": "image", "image": url},
            {"type": "image", "image": PNG},
        ]

    async def test_images_stay_in_the_context_of_later_turns(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-image-2")
        url = "http://images.example.org/a.png"
        first = await chat(
            client,
            user,
            {"message": [{"type": "image", "image": url}], "model": "gpt-4o"},
        )
        await chat(
            client,
            user,
            {"message": "And now?", "chatId": first["chatId"]},
        )
        sent = sent_messages(fake_upstream)
        assert sent[0]["content"] == [{"type": "image_url", "image_url": {"url": url}}]
        assert sent[-1] == {"role": "user", "content": "And now?"}


class TestIsolation:
    async def test_another_users_chat_is_not_found_and_unchanged(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await user_with_key(client, fake_upstream, "sk-px-owner")
        intruder = await user_with_key(client, fake_upstream, "sk-px-intruder")
        first = await chat(client, owner, {"message": "mine"})
        before = await tree(client, owner, first["chatId"])
        response = await client.post(
            "/api/chat",
            json={
                "message": "hijack",
                "chatId": first["chatId"],
                "parentId": first["parentId"],
            },
            headers=intruder.headers,
        )
        assert_seed_error(response, 404, "not_found")
        assert await tree(client, owner, first["chatId"]) == before
        assert fake_upstream.requests_for("sk-px-intruder") == []

    async def test_a_parent_of_another_chat_is_not_found(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-parent")
        one = await chat(client, user, {"message": "one"})
        two = await chat(client, user, {"message": "two"})
        before = await tree(client, user, two["chatId"])
        response = await client.post(
            "/api/chat",
            json={"message": "x", "chatId": two["chatId"], "parentId": one["parentId"]},
            headers=user.headers,
        )
        assert_seed_error(response, 404, "not_found")
        assert await tree(client, user, two["chatId"]) == before

    async def test_a_hub_thread_is_not_a_chat(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-hub")
        response = await client.post(
            "/api/threads/", json={"title": "Hub"}, headers=user.headers
        )
        thread_id = response.json()["id"]
        response = await client.post(
            "/api/chat",
            json={"message": "x", "chatId": str(thread_id)},
            headers=user.headers,
        )
        assert_seed_error(response, 404, "not_found")

    @pytest.mark.parametrize("chat_id", ["a606fcac-8351-4f1f", "0", "99999999999"])
    async def test_a_chat_id_that_names_nothing_is_not_found(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream, chat_id: str
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-nothing")
        response = await client.post(
            "/api/chat", json={"message": "x", "chatId": chat_id}, headers=user.headers
        )
        assert_seed_error(response, 404, "not_found")

    async def test_without_a_token_the_caller_is_unauthorized(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/api/chat", json={"message": "x"})
        assert_seed_error(response, 401, "unauthorized")
        response = await client.post(
            "/api/chat",
            json={"message": "x"},
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert_seed_error(response, 401, "unauthorized")


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"message": ""},
            {"message": "   "},
            {"message": "x", "messages": [{"role": "user", "content": "y"}]},
            {"message": "x", "parentId": "12"},
            {"message": []},
            {"message": [{"type": "video", "video": "https://x.example/v.mp4"}]},
            {"message": [{"type": "image", "image": "ftp://x.example/a.png"}]},
            {"message": [{"type": "image", "image": "not a url"}]},
            {"message": [{"type": "image", "image": "data:image/png;base64"}]},
            {"message": [{"type": "text", "text": "   "}]},
            {"messages": []},
            {"messages": [{"role": "system", "content": "only a system message"}]},
            {"messages": [{"role": "tool", "content": "x"}]},
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a"},
                ]
            },
            {"messages": [{"role": "user"}]},
            {
                "messages": [
                    {"role": "system", "content": [{"type": "image", "image": PNG}]},
                    {"role": "user", "content": "q"},
                ]
            },
            {"message": "x", "temperature": 5},
            {"message": "x", "max_tokens": 0},
            {"message": "x", "chatId": ""},
            {"message": "x", "chatId": {"id": 1}},
            {"message": "nul \u0000 inside"},
        ],
    )
    async def test_rejected_in_the_seed_shape(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream, body: object
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-bad")
        response = await client.post("/api/chat", json=body, headers=user.headers)
        assert_seed_error(response, 422, "validation_error")
        assert fake_upstream.requests_for("sk-px-bad") == []
        response = await client.get("/api/chats", headers=user.headers)
        assert response.json()["chats"] == []

    async def test_not_json_is_rejected(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/chat",
            content=b"{not json",
            headers={**user.headers, "Content-Type": "application/json"},
        )
        assert_seed_error(response, 422, "validation_error")


class TestUpstreamTrouble:
    async def test_without_a_key_the_error_is_api_key_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/chat", json={"message": "hi", "model": "gpt-4o"}, headers=user.headers
        )
        assert_seed_error(response, 400, "api_key_not_found")

    async def test_a_rate_limited_pool_answers_rate_limit_and_keeps_the_question(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-px-429")
        fake_upstream.script("sk-px-429", [Reply(status=429, retry_after=600)])
        response = await client.post(
            "/api/chat", json={"message": "typed once"}, headers=user.headers
        )
        assert_seed_error(response, 429, "rate_limit")
        response = await client.get("/api/chats", headers=user.headers)
        chats = response.json()["chats"]
        assert len(chats) == 1
        messages = await tree(client, user, chats[0]["id"])
        assert messages[0]["content"] == "typed once"

    async def test_another_users_key_is_never_used(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await make_user(client)
        await add_key(client, owner, fake_upstream, "sk-px-only-owner")
        other = await make_user(client)
        response = await client.post(
            "/api/chat", json={"message": "hi"}, headers=other.headers
        )
        assert_seed_error(response, 400, "api_key_not_found")
        assert fake_upstream.requests_for("sk-px-only-owner") == []
