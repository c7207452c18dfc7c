"""/v1/messages driven by the official ``anthropic`` SDK against a live aihub on
127.0.0.1 backed by the fake upstream: Anthropic models passed through, OpenAI
models translated, errors raised as the SDK's usual exceptions."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anthropic
import httpx
import pytest
from sqlalchemy import select

from aihub.core.db import build_engine, build_sessionmaker
from aihub.usage.models import RequestLog
from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, FakeUsage, Reply, ToolCallSpec

TOOLS: Any = [
    {
        "name": "get_weather",
        "description": "The weather of a city",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]
SYSTEM = "You answer in one word."
# The fake upstream waits this long before answering: the upstream's time, which
# aihub's x-aihub-overhead-ms must leave out.
UPSTREAM_DELAY_S = 0.2
Sdk = Callable[[str], anthropic.Anthropic]


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> Account:
    return await make_user(http)


@pytest.fixture
def sdk(live_server: LiveServer) -> Iterator[Callable[[str], anthropic.Anthropic]]:
    """Makes SDK clients of the live aihub for a credential; closes them after."""
    made: list[anthropic.Anthropic] = []

    def make(api_key: str) -> anthropic.Anthropic:
        client = anthropic.Anthropic(
            base_url=live_server.url, api_key=api_key, max_retries=0
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def token(user: Account) -> str:
    return user.headers["Authorization"].removeprefix("Bearer ")


async def log_rows(database_url: str, count: int) -> list[RequestLog]:
    """The request log once ``count`` rows are written (the writer batches),
    read through an engine of this test's own event loop."""
    engine = build_engine(database_url)
    sessionmaker = build_sessionmaker(engine)
    try:
        for _ in range(200):
            async with sessionmaker() as session:
                found = await session.scalars(
                    select(RequestLog).order_by(RequestLog.id)
                )
                rows = list(found.all())
            if len(rows) >= count:
                return rows
            await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError(f"expected {count} request log rows")


class TestPassThrough:
    async def test_create_with_system_and_tools(
        self,
        sdk: Sdk,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
        database_url: str,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-ant-sdk1", "anthropic")
        call = ToolCallSpec("get_weather", {"city": "Oslo"}, id="toolu_x")
        usage = FakeUsage(prompt_tokens=25, completion_tokens=6)
        reply = Reply(
            text="Checking", tool_calls=[call], usage=usage, delay=UPSTREAM_DELAY_S
        )
        fake_upstream.script("sk-ant-sdk1", [reply])
        client = sdk(token(user))

        def run() -> Any:
            return client.messages.with_raw_response.create(
                model="claude-haiku-4-5",
                max_tokens=100,
                system=SYSTEM,
                tools=TOOLS,
                messages=[{"role": "user", "content": "Weather in Oslo?"}],
            )

        began = time.perf_counter()
        raw = await asyncio.to_thread(run)
        elapsed_s = time.perf_counter() - began
        message = raw.parse()
        overhead_ms = float(raw.headers["x-aihub-overhead-ms"])
        assert 0 < overhead_ms < (elapsed_s - UPSTREAM_DELAY_S) * 1000
        assert message.stop_reason == "tool_use"
        assert [block.type for block in message.content] == ["text", "tool_use"]
        assert message.content[1].input == {"city": "Oslo"}
        assert message.usage.input_tokens == 25
        sent = fake_upstream.last_request.json
        assert sent["system"] == SYSTEM
        assert sent["tools"] == TOOLS
        assert sent["model"] == "claude-haiku-4-5-20251001"
        (row,) = await log_rows(database_url, 1)
        assert (row.provider, row.prompt_tokens, row.completion_tokens) == (
            "anthropic",
            25,
            6,
        )

    async def test_stream(
        self,
        sdk: Sdk,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-ant-sdk2", "anthropic")
        usage = FakeUsage(prompt_tokens=8, completion_tokens=3)
        fake_upstream.script(
            "sk-ant-sdk2", [Reply(text="alpha beta gamma", chunks=3, usage=usage)]
        )
        client = sdk(token(user))

        def run() -> tuple[str, Any]:
            with client.messages.stream(
                model="claude-haiku-4-5",
                max_tokens=100,
                system=SYSTEM,
                messages=[{"role": "user", "content": "Say three words"}],
            ) as stream:
                text = "".join(stream.text_stream)
                return text, stream.get_final_message()

        text, final = await asyncio.to_thread(run)
        assert text == "alpha beta gamma"
        assert final.usage.output_tokens == 3
        assert final.stop_reason == "end_turn"


class TestTranslated:
    async def test_create_with_tools(
        self,
        sdk: Sdk,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
        database_url: str,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-oa-sdk1")
        call = ToolCallSpec("get_weather", {"city": "Oslo"}, id="call_1")
        usage = FakeUsage(prompt_tokens=40, completion_tokens=9)
        fake_upstream.script("sk-oa-sdk1", [Reply(tool_calls=[call], usage=usage)])
        client = sdk(token(user))

        def run() -> Any:
            return client.messages.create(
                model="gpt-4o-mini",
                max_tokens=100,
                system=SYSTEM,
                tools=TOOLS,
                messages=[{"role": "user", "content": "Weather in Oslo?"}],
            )

        message = await asyncio.to_thread(run)
        assert message.stop_reason == "tool_use"
        (block,) = message.content
        assert block.type == "tool_use"
        assert (block.id, block.name, block.input) == (
            "call_1",
            "get_weather",
            {"city": "Oslo"},
        )
        assert (message.usage.input_tokens, message.usage.output_tokens) == (40, 9)
        sent = fake_upstream.last_request
        assert sent.path == "/v1/chat/completions"
        assert sent.json["messages"][0] == {"role": "system", "content": SYSTEM}
        (row,) = await log_rows(database_url, 1)
        assert (row.provider, row.kind, row.prompt_tokens) == ("openai", "gateway", 40)
        assert row.cost > 0

    async def test_stream_with_text_and_tools(
        self,
        sdk: Sdk,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-oa-sdk2")
        call = ToolCallSpec("get_weather", {"city": "Rome"}, id="call_2")
        usage = FakeUsage(prompt_tokens=12, completion_tokens=5)
        fake_upstream.script(
            "sk-oa-sdk2",
            [Reply(text="Let me check", chunks=3, tool_calls=[call], usage=usage)],
        )
        client = sdk(token(user))

        def run() -> tuple[str, Any]:
            with client.messages.stream(
                model="gpt-4o-mini",
                max_tokens=100,
                system=SYSTEM,
                tools=TOOLS,
                messages=[{"role": "user", "content": "Weather in Rome?"}],
            ) as stream:
                text = "".join(stream.text_stream)
                return text, stream.get_final_message()

        text, final = await asyncio.to_thread(run)
        assert text == "Let me check"
        assert [block.type for block in final.content] == ["text", "tool_use"]
        assert final.content[1].input == {"city": "Rome"}
        assert final.stop_reason == "tool_use"
        assert (final.usage.input_tokens, final.usage.output_tokens) == (12, 5)

    async def test_images_reach_the_provider(
        self,
        sdk: Sdk,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-oa-sdk3")
        client = sdk(token(user))
        image: Any = {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "QUJD"},
        }

        def run() -> Any:
            return client.messages.create(
                model="gpt-4o-mini",
                max_tokens=50,
                messages=[
                    {
                        "role": "user",
                        "content": [image, {"type": "text", "text": "What is it?"}],
                    }
                ],
            )

        message = await asyncio.to_thread(run)
        assert message.content[0].text == "echo: What is it?"
        parts = fake_upstream.last_request.json["messages"][0]["content"]
        assert parts[0]["image_url"]["url"] == "data:image/png;base64,QUJD"


class TestErrors:
    async def test_no_provider_key_is_bad_request(
        self, sdk: Sdk, user: Account
    ) -> None:
        client = sdk(token(user))

        def run() -> Any:
            return client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
            )

        with pytest.raises(anthropic.BadRequestError):
            await asyncio.to_thread(run)

    async def test_bad_credential_is_authentication_error(self, sdk: Sdk) -> None:
        client = sdk("not-a-token")

        def run() -> Any:
            return client.messages.create(
                model="gpt-4o-mini",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
            )

        with pytest.raises(anthropic.AuthenticationError):
            await asyncio.to_thread(run)

    async def test_resting_keys_are_rate_limit_error(
        self,
        sdk: Sdk,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-oa-sdk4")
        fake_upstream.script("sk-oa-sdk4", default=Reply(status=429, retry_after=120))
        client = sdk(token(user))

        def run() -> Any:
            with client.messages.stream(
                model="gpt-4o-mini",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
            ) as stream:
                return stream.get_final_message()

        with pytest.raises(anthropic.RateLimitError):
            await asyncio.to_thread(run)

    async def test_unknown_model_is_not_found(self, sdk: Sdk, user: Account) -> None:
        client = sdk(token(user))

        def run() -> Any:
            return client.messages.create(
                model="no-such-model-x",
                max_tokens=10,
                messages=[{"role": "user", "content": "x"}],
            )

        with pytest.raises(anthropic.NotFoundError):
            await asyncio.to_thread(run)


class TestDisconnect:
    async def test_client_gone_mid_stream_is_recorded_interrupted(
        self,
        sdk: Sdk,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
        database_url: str,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-ant-sdk5", "anthropic")
        gate = threading.Event()
        fake_upstream.script(
            "sk-ant-sdk5",
            [
                Reply(
                    text="one two three four", chunks=4, gate=gate, gate_after_chunks=1
                )
            ],
        )
        body = {
            "model": "claude-haiku-4-5",
            "max_tokens": 50,
            "stream": True,
            "messages": [{"role": "user", "content": "Count"}],
        }
        async with http.stream(
            "POST", "/v1/messages", json=body, headers=user.headers
        ) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("event: content_block_delta"):
                    break  # the client goes away after the first delta
        try:  # the upstream is held: only the hang-up can end the call
            (row,) = await log_rows(database_url, 1)
        finally:
            gate.set()
        assert row.status == "interrupted"
        assert row.provider == "anthropic"
