"""The OpenAI-compatible gateway, driven by the official openai SDK and
LangChain against a live aihub on 127.0.0.1 backed by the fake upstream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.db import build_engine
from aihub.runtime import runtime_of
from aihub.usage.models import RequestLog
from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, FakeUsage, Reply

# The fake upstream waits this long before answering: the upstream's time, which
# aihub's x-aihub-overhead-ms must leave out.
UPSTREAM_DELAY_S = 0.2


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> Account:
    return await make_user(http)


def _token(user: Account) -> str:
    return user.headers["Authorization"].removeprefix("Bearer ")


_opened: list[openai.OpenAI | openai.AsyncOpenAI] = []


@pytest.fixture(autouse=True)
async def _close_sdk_clients() -> AsyncIterator[None]:
    """SDK clients hold sockets: close every one a test made."""
    yield
    while _opened:
        client = _opened.pop()
        if isinstance(client, openai.AsyncOpenAI):
            await client.close()
        else:
            client.close()


def _sdk(live_server: LiveServer, user: Account) -> openai.OpenAI:
    client = openai.OpenAI(
        base_url=f"{live_server.url}/v1", api_key=_token(user), max_retries=0
    )
    _opened.append(client)
    return client


def _async_sdk(
    live_server: LiveServer, user: Account, api_key: str | None = None
) -> openai.AsyncOpenAI:
    client = openai.AsyncOpenAI(
        base_url=f"{live_server.url}/v1",
        api_key=api_key or _token(user),
        max_retries=0,
    )
    _opened.append(client)
    return client


async def _rows(live_server: LiveServer, count: int) -> list[RequestLog]:
    """The request log once ``count`` rows were written (the writer batches).
    Read through an engine of this loop: the server's pool lives on its own."""
    app: FastAPI = live_server.server.config.app  # type: ignore[assignment]
    engine = build_engine(runtime_of(app).settings.database_url)
    try:
        for _ in range(100):
            async with AsyncSession(engine) as session:
                rows = list((await session.scalars(select(RequestLog))).all())
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError(f"expected {count} request log rows")


class TestChatCompletions:
    async def test_sdk_non_streaming(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-gw-1")
        fake_upstream.script(
            "sk-gw-1",
            [
                Reply(
                    text="Hi from upstream",
                    usage=FakeUsage(prompt_tokens=11, completion_tokens=4),
                    delay=UPSTREAM_DELAY_S,
                )
            ],
        )
        client = _sdk(live_server, user)

        def call() -> Any:  # the sync client, in a thread
            return client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Hello"}],
                temperature=0,
                seed=7,
                stop=["END"],
            )

        began = time.perf_counter()
        raw = await asyncio.to_thread(call)
        elapsed_s = time.perf_counter() - began
        completion = raw.parse()
        assert completion.choices[0].message.content == "Hi from upstream"
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == 11
        # The upstream's delay is inside the call but not in aihub's overhead.
        overhead_ms = float(raw.headers["x-aihub-overhead-ms"])
        assert 0 < overhead_ms < (elapsed_s - UPSTREAM_DELAY_S) * 1000
        sent = fake_upstream.last_request.json
        assert sent["seed"] == 7
        assert sent["stop"] == ["END"]
        rows = await _rows(live_server, 1)
        assert rows[0].kind == "gateway"
        assert rows[0].prompt_tokens == 11
        assert rows[0].completion_tokens == 4
        assert rows[0].cost > 0

    async def test_sdk_streaming_hides_the_usage_chunk_it_did_not_ask_for(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-gw-2")
        fake_upstream.script(
            "sk-gw-2",
            [
                Reply(
                    text="one two three",
                    chunks=3,
                    usage=FakeUsage(prompt_tokens=5, completion_tokens=3),
                )
            ],
        )
        client = _sdk(live_server, user)

        def run() -> list[Any]:
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "Count"}],
                stream=True,
            )
            return list(stream)

        chunks = await asyncio.to_thread(run)
        assert all(chunk.choices for chunk in chunks)  # no usage-only chunk
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert text == "one two three"
        # aihub asked for the usage anyway, and accounted it.
        assert fake_upstream.last_request.json["stream_options"] == {
            "include_usage": True
        }
        rows = await _rows(live_server, 1)
        assert (rows[0].prompt_tokens, rows[0].completion_tokens) == (5, 3)
        assert rows[0].cost > 0

    async def test_async_sdk_streaming_with_usage(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-gw-3")
        fake_upstream.script("sk-gw-3", [Reply(text="abc", chunks=3)])
        client = _async_sdk(live_server, user)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "x"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        await client.close()
        assert chunks[-1].usage is not None
        assert chunks[-1].choices == []

    async def test_tools_pass_through(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-gw-4")
        fake_upstream.script("sk-gw-4", default=Reply(text="ok"))
        tools: Any = [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {}},
                },
            }
        ]
        client = _async_sdk(live_server, user)
        await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "weather?"}],
            tools=tools,
            tool_choice="auto",
            response_format={"type": "json_object"},
            n=2,
            logprobs=True,
        )
        sent = fake_upstream.last_request.json
        assert sent["tools"] == tools
        assert sent["tool_choice"] == "auto"
        assert sent["response_format"] == {"type": "json_object"}
        assert (sent["n"], sent["logprobs"]) == (2, True)

    async def test_errors_reach_the_sdk_as_its_exceptions(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        client = _async_sdk(live_server, user)
        messages: Any = [{"role": "user", "content": "x"}]
        with pytest.raises(openai.BadRequestError) as missing:
            await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        assert missing.value.code == "api_key_not_found"
        await add_key(http, user, fake_upstream, "sk-gw-5")
        fake_upstream.script("sk-gw-5", default=Reply(status=429, retry_after=600))
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        bad = _async_sdk(live_server, user, api_key="not-a-token")
        with pytest.raises(openai.AuthenticationError):
            await bad.chat.completions.create(model="gpt-4o-mini", messages=messages)
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(
                model="no-such-model", messages=messages
            )

    async def test_langchain_chat_openai(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        from langchain_openai import ChatOpenAI

        await add_key(http, user, fake_upstream, "sk-gw-6")
        fake_upstream.script("sk-gw-6", default=Reply(text="from langchain"))
        llm = ChatOpenAI(
            model="gpt-4o-mini",
            base_url=f"{live_server.url}/v1",
            api_key=_token(user),
            max_retries=0,
        )
        reply = await llm.ainvoke("Hello")
        assert reply.content == "from langchain"
        chunks = [chunk.content async for chunk in llm.astream("Hello")]
        assert "".join(str(c) for c in chunks) == "from langchain"


class TestOtherRoutes:
    async def test_models_and_embeddings(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-gw-7")
        client = _async_sdk(live_server, user)
        models = await client.models.list()
        ids = {m.id for m in models.data}
        assert {"gpt-4o-mini", "text-embedding-3-small"} <= ids
        assert "claude-3-opus" not in ids  # no Anthropic key: not served
        result = await client.embeddings.create(
            model="text-embedding-3-small", input=["a", "b"]
        )
        assert len(result.data) == 2
        rows = await _rows(live_server, 1)
        assert rows[0].kind == "embedding"

    async def test_invalid_json_is_an_openai_shaped_400(
        self, http: httpx.AsyncClient, user: Account
    ) -> None:
        response = await http.post(
            "/v1/chat/completions",
            content=b"{not json",
            headers={**user.headers, "content-type": "application/json"},
        )
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


class TestServedByAnthropic:
    async def test_openai_sdk_talks_to_a_claude_model(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-ant-gw-1", provider="anthropic")
        fake_upstream.script(
            "sk-ant-gw-1",
            [
                Reply(text="Bonjour", usage=FakeUsage(9, 2)),
                Reply(text="in three parts", chunks=3, usage=FakeUsage(7, 3)),
            ],
        )
        client = _async_sdk(live_server, user)
        completion = await client.chat.completions.create(
            model="claude-3-5-haiku",
            messages=[
                {"role": "system", "content": "Answer in French"},
                {"role": "user", "content": "Hello"},
            ],
            max_tokens=50,
        )
        assert completion.choices[0].message.content == "Bonjour"
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == 9
        sent = fake_upstream.last_request
        assert sent.wire == "anthropic"
        assert sent.json["system"] == "Answer in French"
        stream = await client.chat.completions.create(
            model="claude-3-5-haiku",
            messages=[{"role": "user", "content": "Go"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "in three parts"
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == 3
        rows = await _rows(live_server, 2)
        assert {r.provider for r in rows} == {"anthropic"}
        assert all(r.cost > 0 for r in rows)


class TestStore:
    async def test_store_saves_the_conversation_as_a_thread(
        self,
        live_server: LiveServer,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-store-1")
        fake_upstream.script("sk-store-1", default=Reply())  # echoes
        client = _async_sdk(live_server, user)
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Be kind"},
                {"role": "user", "content": "first"},
            ],
            store=True,
        )
        thread_id = int(raw.headers["x-aihub-thread"])
        assert "store" not in fake_upstream.last_request.json
        stream = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "second"}],
            stream=True,
            extra_headers={"X-Aihub-Thread": str(thread_id)},
        )
        _ = [chunk async for chunk in stream]
        response = await http.get(f"/api/threads/{thread_id}", headers=user.headers)
        thread = response.json()
        assert [(m["role"], m["content"]) for m in thread["messages"]] == [
            ("system", "Be kind"),
            ("user", "first"),
            ("assistant", "echo: first"),
            ("user", "second"),
            ("assistant", "echo: second"),
        ]
        # Another user cannot write into this thread.
        other = await make_user(http)
        intruder = _async_sdk(live_server, other)
        with pytest.raises(openai.NotFoundError):
            await intruder.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "x"}],
                extra_headers={"X-Aihub-Thread": str(thread_id)},
            )
