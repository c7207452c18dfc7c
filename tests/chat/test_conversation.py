"""What goes upstream (context, trimming, the model chosen), which key serves,
branches made by regenerate and edit, and creating a thread by streaming."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.chat.helpers import add_key, get_thread, make_thread, parse_sse, stream
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply


async def _send(
    client: httpx.AsyncClient,
    user: Account,
    thread_id: int,
    content: str,
    query: str = "",
    **extra: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/threads/{thread_id}/send{query}",
        json={"content": content, **extra},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _sent_messages(upstream: FakeUpstream) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = upstream.last_request.json["messages"]
    return messages


class TestContext:
    async def test_with_and_without_context(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-ctx-1")
        fake_upstream.script("sk-ctx-1", default=Reply())  # echoes
        thread = await make_thread(client, user, system_prompt="You are terse")
        await _send(client, user, thread["id"], "first question")
        await _send(client, user, thread["id"], "second question")
        assert _sent_messages(fake_upstream) == [
            {"role": "system", "content": "You are terse"},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "echo: first question"},
            {"role": "user", "content": "second question"},
        ]
        answer = await _send(
            client, user, thread["id"], "alone", query="?use_context=false"
        )
        assert _sent_messages(fake_upstream) == [
            {"role": "system", "content": "You are terse"},
            {"role": "user", "content": "alone"},
        ]
        assert answer["meta_data"]["with_context"] is False

    async def test_the_system_prompt_of_the_request_wins(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-ctx-2")
        fake_upstream.script("sk-ctx-2", default=Reply())
        thread = await make_thread(client, user, system_prompt="Old rules")
        await _send(
            client,
            user,
            thread["id"],
            "hi",
            system_prompt="New rules",
            max_tokens=77,
            temperature=0.3,
        )
        body = fake_upstream.last_request.json
        assert body["messages"][0] == {"role": "system", "content": "New rules"}
        assert body["max_completion_tokens"] == 77  # OpenAI's current name
        assert body["temperature"] == 0.3

    async def test_long_threads_are_trimmed_oldest_first(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-ctx-3")
        fake_upstream.script("sk-ctx-3", default=Reply(text="ok"))
        # gpt-4: an 8192-token window in the catalog.
        thread = await make_thread(client, user, model="gpt-4", system_prompt="Keep me")
        filler = "word " * 1500  # about 1500 tokens each
        for index in range(8):
            response = await client.post(
                f"/api/threads/{thread['id']}/messages",
                json={"role": "user", "content": f"{index} {filler}"},
                headers=user.headers,
            )
            assert response.status_code == 201
        answer = await _send(client, user, thread["id"], "the newest")
        sent = _sent_messages(fake_upstream)
        assert sent[0] == {"role": "system", "content": "Keep me"}
        assert sent[-1] == {"role": "user", "content": "the newest"}
        kept = [m["content"].split(" ")[0] for m in sent[1:-1]]
        assert 0 < len(kept) < 8
        assert kept == [str(i) for i in range(8 - len(kept), 8)]  # the newest
        assert answer["meta_data"]["context_dropped"] == 8 - len(kept)

    async def test_a_message_too_long_for_the_window_is_invalid_context(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-ctx-4")
        thread = await make_thread(client, user, model="gpt-4")
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "word " * 9000},
            headers=user.headers,
        )
        assert response.status_code == 400
        assert response.json()["error_type"] == "invalid_context"
        assert fake_upstream.requests == []
        detail = await get_thread(client, user, thread["id"])
        assert detail["messages"][-1]["role"] == "user"  # the question is kept


class TestModelChoice:
    async def test_default_preference_picks_the_model(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-pref-1", provider="anthropic")
        response = await client.post(
            "/api/models/preferences",
            json={
                "provider": "anthropic",
                "model": "claude-3-5-haiku",
                "is_default": True,
            },
            headers=user.headers,
        )
        assert response.status_code == 201, response.text  # a preference is created
        fake_upstream.script("sk-pref-1", [Reply(text="from claude")])
        response = await client.post(
            "/api/threads/", json={"title": "No model"}, headers=user.headers
        )
        thread = response.json()
        answer = await _send(client, user, thread["id"], "hello")
        assert (answer["provider"], answer["model"]) == (
            "anthropic",
            "claude-3-5-haiku",
        )
        assert answer["content"] == "from claude"
        assert fake_upstream.last_request.wire == "anthropic"
        detail = await get_thread(client, user, thread["id"])
        assert (detail["provider"], detail["model"]) == (
            "anthropic",
            "claude-3-5-haiku",
        )

    async def test_a_message_may_name_another_model(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-pick-1")
        fake_upstream.script("sk-pick-1", default=Reply())
        thread = await make_thread(client, user)
        answer = await _send(client, user, thread["id"], "hi", model="gpt-4o")
        assert answer["model"] == "gpt-4o"
        assert fake_upstream.last_request.json["model"] == "gpt-4o"


class TestKeys:
    async def test_rotation_past_a_rate_limited_and_an_invalid_key(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        fake_upstream.script("sk-rot-good", default=Reply(text="served"))
        fake_upstream.script("sk-rot-busy", default=Reply(status=429, retry_after=300))
        fake_upstream.script("sk-rot-dead", default=Reply(status=401))
        ids = {
            secret: await add_key(client, user, fake_upstream, secret)
            for secret in ("sk-rot-busy", "sk-rot-dead", "sk-rot-good")
        }
        thread = await make_thread(client, user)
        for _ in range(3):
            answer = await _send(client, user, thread["id"], "go")
            assert answer["content"] == "served"
        response = await client.get("/api/api-keys/", headers=user.headers)
        health = {k["id"]: k for k in response.json()}
        assert health[ids["sk-rot-busy"]]["status"] == "cooldown"
        assert health[ids["sk-rot-dead"]]["status"] == "invalid"
        assert health[ids["sk-rot-good"]]["status"] == "ok"
        # Each bad key was tried once, then left alone.
        assert len(fake_upstream.requests_for("sk-rot-busy")) == 1
        assert len(fake_upstream.requests_for("sk-rot-dead")) == 1
        assert len(fake_upstream.requests_for("sk-rot-good")) == 3

    async def test_a_fallback_model_serves_when_the_first_has_no_usable_key(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        make_client: Any,
    ) -> None:
        other = await make_client(
            model_fallbacks={"openai/gpt-4o": ["anthropic/claude-3-5-haiku"]}
        )
        user = await make_user(other)
        await add_key(other, user, fake_upstream, "sk-fb-openai")
        await add_key(other, user, fake_upstream, "sk-fb-claude", provider="anthropic")
        fake_upstream.script("sk-fb-openai", default=Reply(status=402))
        fake_upstream.script("sk-fb-claude", default=Reply(text="fallback answer"))
        thread = await make_thread(other, user, model="gpt-4o")
        answer = await _send(other, user, thread["id"], "go")
        assert answer["content"] == "fallback answer"
        assert (answer["provider"], answer["model"]) == (
            "anthropic",
            "claude-3-5-haiku",
        )


class TestBranches:
    async def test_regenerate_adds_a_sibling_and_shows_it(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-br-1")
        fake_upstream.script(
            "sk-br-1", [Reply(text="first try"), Reply(text="second try")]
        )
        thread = await make_thread(client, user)
        first = await _send(client, user, thread["id"], "question")
        response = await client.post(
            f"/api/threads/{thread['id']}/messages/{first['id']}/regenerate",
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        second = response.json()
        assert second["content"] == "second try"
        assert second["parent_id"] == first["parent_id"]
        detail = await get_thread(client, user, thread["id"])
        assert [m["content"] for m in detail["messages"]] == ["question", "second try"]
        response = await client.get(
            f"/api/threads/{thread['id']}/messages/{second['id']}/branches",
            headers=user.headers,
        )
        siblings = response.json()["siblings"]
        assert [m["content"] for m in siblings] == ["first try", "second try"]
        # The regenerated call saw the same context as the first.
        first_call, second_call = fake_upstream.requests
        assert first_call.json["messages"] == second_call.json["messages"]

    async def test_edit_branches_the_question_and_answers_it(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-br-2")
        fake_upstream.script("sk-br-2", default=Reply())
        thread = await make_thread(client, user)
        await _send(client, user, thread["id"], "one")
        answer = await _send(client, user, thread["id"], "tow")
        response = await client.post(
            f"/api/threads/{thread['id']}/messages/{answer['parent_id']}/edit"
            "?stream=true",
            json={"content": "two"},
            headers=user.headers,
        )
        frames = parse_sse(response.text)
        assert frames[-1][1]["status"] == "complete"
        detail = await get_thread(client, user, thread["id"])
        assert [m["content"] for m in detail["messages"]] == [
            "one",
            "echo: one",
            "two",
            "echo: two",
        ]
        assert detail["message_count"] == 6  # both branches are kept

    async def test_only_user_messages_can_be_edited(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-br-3")
        fake_upstream.script("sk-br-3", default=Reply())
        thread = await make_thread(client, user)
        answer = await _send(client, user, thread["id"], "one")
        response = await client.post(
            f"/api/threads/{thread['id']}/messages/{answer['id']}/edit",
            json={"content": "x"},
            headers=user.headers,
        )
        assert response.status_code == 400


class TestCreateAndStream:
    async def test_thread_frame_first_then_the_answer(
        self, client: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        user = await make_user(client)
        await add_key(client, user, fake_upstream, "sk-new-1")
        fake_upstream.script("sk-new-1", [Reply(text="Seasonal trends: ...")])
        frames = await stream(
            client,
            "/api/threads/stream",
            user,
            {
                "title": "Trends",
                "provider": "openai",
                "model": "gpt-4o",
                "initial_message": "How to see seasonality?",
                "system_prompt": "You analyse data",
                "max_tokens": 2000,
                "temperature": 0.7,
            },
        )
        assert [f[0] for f in frames[:2]] == ["thread", "start"]
        thread = frames[0][1]
        assert thread["title"] == "Trends"
        assert frames[1][1]["thread_id"] == thread["id"]
        assert frames[-1][1]["status"] == "complete"
        detail = await get_thread(client, user, thread["id"])
        assert [m["role"] for m in detail["messages"]] == [
            "system",
            "user",
            "assistant",
        ]
        assert detail["messages"][-1]["content"] == "Seasonal trends: ..."
        body = fake_upstream.last_request.json
        assert body["max_completion_tokens"] == 2000
        assert body["temperature"] == 0.7

    async def test_initial_message_is_required(self, client: httpx.AsyncClient) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/threads/stream", json={"title": "x"}, headers=user.headers
        )
        assert response.status_code == 422


class TestIsolation:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/api/threads/{t}/send", {"content": "x"}),
            ("POST", "/api/threads/{t}/stream", {"content": "x"}),
            ("POST", "/api/threads/{t}/stream/stop", None),
            ("POST", "/api/threads/{t}/messages/{m}/regenerate", None),
            ("POST", "/api/threads/{t}/messages/{m}/edit", {"content": "x"}),
        ],
    )
    async def test_another_users_thread_is_not_found(
        self,
        client: httpx.AsyncClient,
        fake_upstream: FakeUpstream,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        owner = await make_user(client)
        await add_key(client, owner, fake_upstream, "sk-iso-1")
        fake_upstream.script("sk-iso-1", default=Reply())
        thread = await make_thread(client, owner)
        answer = await _send(client, owner, thread["id"], "mine")
        intruder = await make_user(client)
        await add_key(client, intruder, fake_upstream, "sk-iso-2")
        url = path.format(t=thread["id"], m=answer["parent_id"])
        response = await client.request(
            method, url, json=body, headers=intruder.headers
        )
        assert response.status_code == 404
        assert response.json()["error_type"] == "not_found"
        detail = await get_thread(client, owner, thread["id"])
        assert detail["message_count"] == 2
        assert fake_upstream.requests_for("sk-iso-2") == []
