"""Images uploaded with /api/files/upload and sent in a chat: the provider
cannot fetch aihub's own links (they need the owner's bearer), so they go
upstream as data: URLs of the stored bytes, while the chat keeps the link."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.chat.helpers import add_key, make_thread
from tests.chat_proxy.helpers import (
    assert_seed_error,
    chat,
    sent_messages,
    user_with_key,
)
from tests.factories import Account, make_user
from tests.fakes.media_upstream import make_png
from tests.fakes.upstream import FakeUpstream

EXTERNAL = "https://cdn.example.com/user/file_cat.jpg?key=abc"


async def upload(client: httpx.AsyncClient, user: Account, data: bytes) -> str:
    response = await client.post(
        "/api/files/upload",
        files={"file": ("cat.png", data, "image/png")},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["imageUrl"]
    return url


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


def image_urls(message: dict[str, Any]) -> list[str]:
    return [
        p["image_url"]["url"] for p in message["content"] if p["type"] == "image_url"
    ]


async def history(
    client: httpx.AsyncClient, user: Account, chat_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/chats/{chat_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()["history"]["messages"]
    return messages


class TestChat:
    async def test_an_uploaded_image_goes_upstream_as_its_bytes(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-oi-own")
        png = make_png(12, 9)
        url = await upload(client, user, png)
        assert url.startswith("http://aihub/api/files/")

        answer = await chat(
            client,
            user,
            {
                "message": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image", "image": url},
                ],
                "model": "gpt-4o",
            },
        )

        [sent] = sent_messages(fake_upstream)
        assert sent["content"] == [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": data_url(png)}},
        ]
        # The chat keeps the short link, not the bytes.
        question = (await history(client, user, answer["chatId"]))[0]
        assert question["content"] == [
            {"type": "text", "text": "What is this?"},
            {"type": "image", "image": url},
        ]
        # Later turns send the image from the history as bytes again.
        await chat(client, user, {"message": "More?", "chatId": answer["chatId"]})
        sent_again = sent_messages(fake_upstream)
        assert image_urls(sent_again[0]) == [data_url(png)]
        assert sent_again[-1] == {"role": "user", "content": "More?"}

    async def test_another_users_image_is_not_found_and_nothing_goes_upstream(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await make_user(client)
        url = await upload(client, owner, make_png())
        thief = await user_with_key(client, fake_upstream, "sk-oi-thief")

        response = await client.post(
            "/api/chat",
            json={"message": [{"type": "image", "image": url}]},
            headers=thief.headers,
        )

        assert_seed_error(response, 404, "not_found")
        assert fake_upstream.requests_for("sk-oi-thief") == []
        chats = await client.get("/api/chats", headers=thief.headers)
        assert chats.json()["chats"] == []

    async def test_an_unknown_file_link_is_not_found(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-oi-unknown")
        url = await upload(client, user, make_png())
        for bad in (
            url[:-3] + "zzz",
            "http://aihub/api/files/upload",
            "/api/files/AAAAAAAAAAAAAAAAAAAAAAAA",
        ):
            response = await client.post(
                "/api/chat",
                json={"message": [{"type": "image", "image": bad}]},
                headers=user.headers,
            )
            assert_seed_error(response, 404, "not_found")
        assert fake_upstream.requests_for("sk-oi-unknown") == []

    async def test_a_root_relative_link_is_resolved_too(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-oi-relative")
        png = make_png(3, 3)
        url = await upload(client, user, png)
        relative = url.removeprefix("http://aihub")

        await chat(client, user, {"message": [{"type": "image", "image": relative}]})

        [sent] = sent_messages(fake_upstream)
        assert image_urls(sent) == [data_url(png)]

    async def test_external_and_data_urls_pass_unchanged(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-oi-external")
        inline = data_url(make_png(2, 2))
        # Another host's /api/files/ link is not ours: it passes as it is.
        foreign_hub = "https://other-hub.example.org/api/files/AAAAAAAAAAAAAAAAAAAAAAAA"
        parts = [
            {"type": "image", "image": EXTERNAL},
            {"type": "image", "image": inline},
            {"type": "image", "image": foreign_hub},
        ]

        await chat(client, user, {"message": parts})

        [sent] = sent_messages(fake_upstream)
        assert image_urls(sent) == [EXTERNAL, inline, foreign_hub]


class TestCompletions:
    async def test_image_url_parts_of_the_openai_shape_are_inlined(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-oi-completions")
        png = make_png(5, 4)
        url = await upload(client, user, png)
        content = [
            {"type": "text", "text": "Describe"},
            {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
            {"type": "image_url", "image_url": {"url": EXTERNAL}},
        ]

        response = await client.post(
            "/api/chat/completions",
            json={"messages": [{"role": "user", "content": content}]},
            headers=user.headers,
        )

        assert response.status_code == 200, response.text
        [sent] = sent_messages(fake_upstream)
        assert image_urls(sent) == [data_url(png), EXTERNAL]

    async def test_another_users_image_is_not_found(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await make_user(client)
        url = await upload(client, owner, make_png())
        other = await user_with_key(client, fake_upstream, "sk-oi-compl-other")
        content = [{"type": "image_url", "image_url": {"url": url}}]

        response = await client.post(
            "/api/chat/completions",
            json={"messages": [{"role": "user", "content": content}]},
            headers=other.headers,
        )

        assert_seed_error(response, 404, "not_found")
        assert fake_upstream.requests_for("sk-oi-compl-other") == []


class TestAnthropic:
    async def test_an_uploaded_image_becomes_a_base64_source(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-oi-claude", provider="anthropic")
        png = make_png(6, 6)
        url = await upload(client, user, png)

        await chat(
            client,
            user,
            {
                "message": [{"type": "image", "image": url}],
                "model": "anthropic/claude-sonnet-4-5",
            },
        )

        body = fake_upstream.last_request.json
        assert body["messages"][0]["content"] == [
            {
                "type": "image",
                "source": {
                    "type": "base64",
                    "media_type": "image/png",
                    "data": base64.b64encode(png).decode(),
                },
            }
        ]


class TestThreads:
    async def test_send_inlines_an_uploaded_image(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await user_with_key(client, fake_upstream, "sk-oi-thread")
        png = make_png(7, 7)
        url = await upload(client, user, png)
        thread = await make_thread(client, user, model="gpt-4o")

        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Look", "images": [url, EXTERNAL]},
            headers=user.headers,
        )

        assert response.status_code == 200, response.text
        [sent] = sent_messages(fake_upstream)
        assert image_urls(sent) == [data_url(png), EXTERNAL]
        # The next turn sends the image of the history as bytes again.
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "And?"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert image_urls(sent_messages(fake_upstream)[0]) == [data_url(png), EXTERNAL]

    async def test_send_refuses_another_users_image_before_storing(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        owner = await make_user(client)
        url = await upload(client, owner, make_png())
        other = await user_with_key(client, fake_upstream, "sk-oi-thread-other")
        thread = await make_thread(client, other)

        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Look", "images": [url]},
            headers=other.headers,
        )

        assert response.status_code == 404, response.text
        assert fake_upstream.requests_for("sk-oi-thread-other") == []
        stored = await client.get(f"/api/threads/{thread['id']}", headers=other.headers)
        assert stored.json()["messages"] == []
