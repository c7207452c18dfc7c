"""/v1/responses driven by the official openai SDK (and LangChain) against a
live aihub on 127.0.0.1 backed by the fake upstream, which speaks Chat
Completions (OpenAI) and Messages (Anthropic): every call is translated."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from pydantic import BaseModel

from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, FakeUsage, Reply, ToolCallSpec
from tests.gateway.keys_support import bearer, create_key


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as client:
        yield client


@pytest.fixture
async def user(http: httpx.AsyncClient) -> Account:
    return await make_user(http)


def _token(user: Account) -> str:
    return user.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
async def sdk(
    live_server: LiveServer, user: Account
) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        base_url=f"{live_server.url}/v1", api_key=_token(user), max_retries=0
    )
    yield client
    await client.close()


def _user_text(request_json: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(m["role"], m.get("content")) for m in request_json["messages"]]


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class TestCreate:
    async def test_create_with_instructions_and_usage(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-1")
        usage = FakeUsage(
            prompt_tokens=20, completion_tokens=7, cached_tokens=8, reasoning_tokens=3
        )
        fake_upstream.script("sk-r-1", [Reply(text="Hello there", usage=usage)])
        response = await sdk.responses.create(
            model="gpt-4o-mini",
            input="Say hello",
            instructions="Be brief.",
            max_output_tokens=50,
            temperature=0.2,
            top_p=0.9,
            metadata={"ticket": "42"},
        )
        assert response.output_text == "Hello there"
        assert response.status == "completed"
        assert response.id.startswith("resp_")
        assert response.model == "gpt-4o-mini"
        assert response.metadata == {"ticket": "42"}
        assert response.instructions == "Be brief."
        assert response.usage is not None
        assert response.usage.input_tokens == 20
        assert response.usage.output_tokens == 7
        assert response.usage.input_tokens_details.cached_tokens == 8
        assert response.usage.output_tokens_details.reasoning_tokens == 3
        sent = fake_upstream.last_request.json
        assert _user_text(sent) == [
            ("system", "Be brief."),
            ("user", "Say hello"),
        ]
        assert sent.get("max_completion_tokens", sent.get("max_tokens")) == 50
        assert (sent["temperature"], sent["top_p"]) == (0.2, 0.9)

    async def test_anthropic_model_is_translated(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-ant", "anthropic")
        fake_upstream.script("sk-r-ant", [Reply(text="from claude")])
        response = await sdk.responses.create(
            model="claude-sonnet-4-5",
            instructions="You are terse.",
            input=[{"role": "user", "content": "hi"}],
            reasoning={"effort": "low"},
        )
        assert response.output_text == "from claude"
        request = fake_upstream.last_request
        assert request.path == "/v1/messages"
        assert request.json["system"] == "You are terse."
        assert request.json["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert request.json["max_tokens"] > 1024

    async def test_reasoning_effort_reaches_an_openai_model(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-re")
        await sdk.responses.create(
            model="gpt-4o-mini", input="think", reasoning={"effort": "high"}
        )
        assert fake_upstream.last_request.json["reasoning_effort"] == "high"

    async def test_image_input(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-img")
        image = "data:image/png;base64,iVBORw0KGgo="
        await sdk.responses.create(
            model="gpt-4o-mini",
            input=[
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {"type": "input_image", "image_url": image, "detail": "low"},
                    ],
                }
            ],
        )
        content = fake_upstream.last_request.json["messages"][0]["content"]
        assert content == [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": image, "detail": "low"}},
        ]

    async def test_json_schema_output(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        class City(BaseModel):
            name: str
            population: int

        await add_key(http, user, fake_upstream, "sk-r-js")
        fake_upstream.script(
            "sk-r-js", [Reply(text='{"name": "Oslo", "population": 700000}')]
        )
        parsed = await sdk.responses.parse(
            model="gpt-4o-mini", input="A city", text_format=City
        )
        assert parsed.output_parsed == City(name="Oslo", population=700000)
        sent = fake_upstream.last_request.json["response_format"]
        assert sent["type"] == "json_schema"
        assert sent["json_schema"]["name"] == "City"
        assert sent["json_schema"]["strict"] is True
        assert sent["json_schema"]["schema"]["required"] == ["name", "population"]

    async def test_function_tool_round_trip(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-fn")
        call = ToolCallSpec(name="get_weather", arguments={"city": "Oslo"}, id="c1")
        fake_upstream.script(
            "sk-r-fn",
            [
                Reply(text="", tool_calls=[call], finish_reason="tool_calls"),
                Reply(text="It is sunny in Oslo."),
            ],
        )
        first = await sdk.responses.create(
            model="gpt-4o-mini",
            input="Weather in Oslo?",
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            tool_choice="required",
            parallel_tool_calls=False,
        )
        calls = [item for item in first.output if item.type == "function_call"]
        assert len(calls) == 1
        assert calls[0].name == "get_weather"
        assert calls[0].call_id == "c1"
        assert json.loads(calls[0].arguments) == {"city": "Oslo"}
        sent = fake_upstream.last_request.json
        assert sent["tools"][0]["function"]["name"] == "get_weather"
        assert sent["tool_choice"] == "required"
        assert sent["parallel_tool_calls"] is False

        second = await sdk.responses.create(
            model="gpt-4o-mini",
            previous_response_id=first.id,
            input=[
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"}
            ],
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
        )
        assert second.output_text == "It is sunny in Oslo."
        assert second.previous_response_id == first.id
        messages = fake_upstream.last_request.json["messages"]
        assert messages[0] == {"role": "user", "content": "Weather in Oslo?"}
        assert messages[1]["role"] == "assistant"
        assert messages[1]["tool_calls"][0]["id"] == "c1"
        assert messages[1]["tool_calls"][0]["function"]["name"] == "get_weather"
        assert messages[2] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}

    async def test_stateless_round_trip_with_items_handed_back(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        """store=false: the client sends the earlier output items itself."""
        await add_key(http, user, fake_upstream, "sk-r-sl")
        call = ToolCallSpec(name="get_weather", arguments={"city": "Rome"}, id="c9")
        fake_upstream.script(
            "sk-r-sl",
            [Reply(tool_calls=[call], finish_reason="tool_calls"), Reply(text="Warm")],
        )
        first = await sdk.responses.create(
            model="gpt-4o-mini",
            input="Rome?",
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
            store=False,
        )
        second = await sdk.responses.create(
            model="gpt-4o-mini",
            input=[
                {"role": "user", "content": "Rome?"},
                *[item.model_dump(exclude_none=True) for item in first.output],
                {"type": "function_call_output", "call_id": "c9", "output": "25C"},
            ],
            store=False,
        )
        assert second.output_text == "Warm"
        roles = [m["role"] for m in fake_upstream.last_request.json["messages"]]
        assert roles == ["user", "assistant", "tool"]
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.retrieve(first.id)

    async def test_length_is_incomplete(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-len")
        fake_upstream.script("sk-r-len", [Reply(text="cut", finish_reason="length")])
        response = await sdk.responses.create(
            model="gpt-4o-mini", input="long", max_output_tokens=16
        )
        assert response.status == "incomplete"
        assert response.incomplete_details is not None
        assert response.incomplete_details.reason == "max_output_tokens"


class TestChains:
    async def test_previous_response_id_continues_every_turn(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-ch")
        fake_upstream.script(
            "sk-r-ch", [Reply(text="A1"), Reply(text="A2"), Reply(text="A3")]
        )
        one = await sdk.responses.create(
            model="gpt-4o-mini", input="Q1", instructions="Sys one"
        )
        two = await sdk.responses.create(
            model="gpt-4o-mini", input="Q2", previous_response_id=one.id
        )
        three = await sdk.responses.create(
            model="gpt-4o-mini",
            input="Q3",
            previous_response_id=two.id,
            instructions="Sys three",
        )
        assert three.output_text == "A3"
        # Instructions are not carried over; every earlier turn is.
        assert _user_text(fake_upstream.last_request.json) == [
            ("system", "Sys three"),
            ("user", "Q1"),
            ("assistant", "A1"),
            ("user", "Q2"),
            ("assistant", "A2"),
            ("user", "Q3"),
        ]
        # The chain is one branch of one hub thread, with its cost. A response
        # is written behind its request: reading it back waits for its write
        # (the thread list alone may be up to a flush interval behind).
        assert (await sdk.responses.retrieve(three.id)).output_text == "A3"
        items = (await http.get("/api/threads/", headers=user.headers)).json()
        assert len(items) == 1
        detail = await http.get(f"/api/threads/{items[0]['id']}", headers=user.headers)
        messages = detail.json()["messages"]
        assert [m["content"] for m in messages] == ["Q1", "A1", "Q2", "A2", "Q3", "A3"]
        assert messages[-1]["meta_data"]["cost"] > 0

    async def test_retrieve_input_items_delete(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-rd")
        fake_upstream.script("sk-r-rd", [Reply(text="stored answer")])
        created = await sdk.responses.create(
            model="gpt-4o-mini",
            input=[
                {"role": "developer", "content": "Context"},
                {"role": "user", "content": "Question"},
            ],
        )
        got = await sdk.responses.retrieve(created.id)
        assert got.id == created.id
        assert got.output_text == "stored answer"
        assert got.usage is not None
        assert got.usage.output_tokens > 0
        items = await sdk.responses.input_items.list(created.id)
        assert [i.role for i in items.data] == ["user", "developer"]  # desc
        asc = await sdk.responses.input_items.list(created.id, order="asc", limit=1)
        assert [i.role for i in asc.data] == ["developer"]
        assert asc.has_more is True
        with pytest.raises(openai.BadRequestError):
            await sdk.responses.cancel(created.id)
        deleted = await http.delete(f"/v1/responses/{created.id}", headers=user.headers)
        assert deleted.json() == {
            "id": created.id,
            "object": "response.deleted",
            "deleted": True,
        }
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.retrieve(created.id)
        # It was the thread's only exchange: the thread went with it.
        threads = await http.get("/api/threads/", headers=user.headers)
        assert threads.json() == []

    async def test_another_users_response_is_not_found(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
        live_server: LiveServer,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-iso")
        mine = await sdk.responses.create(model="gpt-4o-mini", input="private")
        assert re.fullmatch(r"resp_[0-9a-f]{48}", mine.id)  # random, not row ids
        other = await make_user(http)
        await add_key(http, other, fake_upstream, "sk-r-iso2")
        before = len(fake_upstream.requests)
        for method, path in (
            ("GET", f"/v1/responses/{mine.id}"),
            ("DELETE", f"/v1/responses/{mine.id}"),
            ("POST", f"/v1/responses/{mine.id}/cancel"),
            ("GET", f"/v1/responses/{mine.id}/input_items"),
            ("GET", "/v1/responses/resp_1_1_0123456789abcdef"),
            ("GET", f"/v1/responses/resp_{'0' * 48}"),
        ):
            response = await http.request(method, path, headers=other.headers)
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["type"] == "not_found_error"
        chained = await http.post(
            "/v1/responses",
            json={
                "model": "gpt-4o-mini",
                "input": "x",
                "previous_response_id": mine.id,
            },
            headers=other.headers,
        )
        assert chained.status_code == 404
        assert len(fake_upstream.requests) == before
        assert (await sdk.responses.retrieve(mine.id)).output_text


class TestStreaming:
    async def test_stream_helper_text(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-st")
        fake_upstream.script(
            "sk-r-st",
            [
                Reply(
                    text="one two three",
                    chunks=3,
                    usage=FakeUsage(prompt_tokens=4, completion_tokens=3),
                )
            ],
        )
        deltas: list[str] = []
        kinds: list[str] = []
        async with sdk.responses.stream(model="gpt-4o-mini", input="Count") as stream:
            async for event in stream:
                kinds.append(event.type)
                if event.type == "response.output_text.delta":
                    deltas.append(event.delta)
            final = await stream.get_final_response()
        assert "".join(deltas) == "one two three"
        assert final.output_text == "one two three"
        assert final.usage is not None
        assert final.usage.input_tokens == 4
        assert kinds[:4] == [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
        ]
        assert kinds[-4:] == [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
        stored = await sdk.responses.retrieve(final.id)
        assert stored.output_text == "one two three"
        assert stored.status == "completed"

    async def test_a_stream_in_progress_is_retrievable(
        self,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
    ) -> None:
        """The stored answer exists from response.created on, in_progress with
        its text growing in the thread, then completed."""
        await add_key(http, user, fake_upstream, "sk-r-ip")
        gate = threading.Event()
        fake_upstream.script(
            "sk-r-ip", [Reply(text="alpha beta gamma", chunks=3, gate=gate)]
        )
        body = {"model": "gpt-4o-mini", "input": "Go", "stream": True}
        try:
            async with http.stream(
                "POST", "/v1/responses", json=body, headers=user.headers
            ) as response:
                assert response.status_code == 200
                lines = response.aiter_lines()
                created = None
                async for line in lines:
                    if line.startswith("data:"):
                        created = json.loads(line[5:])
                        break
                assert created is not None
                assert created["type"] == "response.created"
                response_id = created["response"]["id"]
                during = await http.get(
                    f"/v1/responses/{response_id}", headers=user.headers
                )
                assert during.status_code == 200
                assert during.json()["status"] == "in_progress"
                assert during.json()["id"] == response_id
                gate.set()
                _ = [line async for line in lines]
        finally:
            gate.set()
        after = await http.get(f"/v1/responses/{response_id}", headers=user.headers)
        assert after.json()["status"] == "completed"
        assert after.json()["output"][0]["content"][0]["text"] == "alpha beta gamma"

    async def test_stream_sequence_numbers_and_function_call(
        self,
        http: httpx.AsyncClient,
        user: Account,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-sf")
        call = ToolCallSpec(name="get_weather", arguments={"city": "Oslo"}, id="c7")
        fake_upstream.script(
            "sk-r-sf",
            [Reply(text="Checking", tool_calls=[call], finish_reason="tool_calls")],
        )
        body = {
            "model": "gpt-4o-mini",
            "input": "Weather?",
            "tools": [WEATHER_TOOL],
            "stream": True,
        }
        async with http.stream(
            "POST", "/v1/responses", json=body, headers=user.headers
        ) as response:
            assert response.status_code == 200
            raw = (await response.aread()).decode()
        events = [
            json.loads(line[5:])
            for line in raw.splitlines()
            if line.startswith("data:")
        ]
        assert [e["sequence_number"] for e in events] == list(range(len(events)))
        kinds = [e["type"] for e in events]
        assert "response.function_call_arguments.delta" in kinds
        done = next(
            e for e in events if e["type"] == "response.function_call_arguments.done"
        )
        assert json.loads(done["arguments"]) == {"city": "Oslo"}
        final = events[-1]["response"]
        assert events[-1]["type"] == "response.completed"
        assert [i["type"] for i in final["output"]] == ["message", "function_call"]
        assert final["output"][1]["call_id"] == "c7"

    async def test_failure_before_the_first_event_is_an_error_status(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-bad")
        fake_upstream.script(
            "sk-r-bad", default=Reply(status=400, error_message="bad thing")
        )
        with pytest.raises(openai.BadRequestError):
            async with sdk.responses.stream(model="gpt-4o-mini", input="x") as s:
                await s.get_final_response()
        with pytest.raises(openai.BadRequestError):
            await sdk.responses.create(model="gpt-4o-mini", input="x")

    async def test_failure_mid_stream_is_response_failed(
        self,
        http: httpx.AsyncClient,
        user: Account,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-mid")
        fake_upstream.script(
            "sk-r-mid",
            [Reply(text="a b c d", chunks=4, stream_error="server_error")],
        )
        body = {"model": "gpt-4o-mini", "input": "x", "stream": True}
        async with http.stream(
            "POST", "/v1/responses", json=body, headers=user.headers
        ) as response:
            raw = (await response.aread()).decode()
        events = [
            json.loads(line[5:])
            for line in raw.splitlines()
            if line.startswith("data:")
        ]
        assert events[-1]["type"] == "response.failed"
        failed = events[-1]["response"]
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "server_error"
        stored = await http.get(f"/v1/responses/{failed['id']}", headers=user.headers)
        assert stored.json()["status"] == "failed"


class TestErrors:
    @pytest.mark.parametrize(
        ("extra", "needle"),
        [
            ({"model": None}, "model"),
            ({"input": None}, "input"),
            ({"input": []}, "input"),
            ({"input": [{"role": "robot", "content": "x"}]}, "role"),
            ({"input": [{"role": "user", "content": 5}]}, "content"),
            ({"temperature": 3}, "temperature"),
            ({"max_output_tokens": 0}, "max_output_tokens"),
            ({"store": "yes"}, "store"),
            ({"tools": [{"type": "web_search"}]}, "web_search"),
            ({"tools": [{"type": "file_search"}]}, "file_search"),
            ({"tools": [{"type": "code_interpreter"}]}, "code_interpreter"),
            ({"tools": [{"type": "computer_use_preview"}]}, "computer_use_preview"),
            ({"bogus": 1}, "bogus"),
        ],
    )
    async def test_bad_bodies_never_reach_the_upstream(
        self,
        http: httpx.AsyncClient,
        user: Account,
        fake_upstream: FakeUpstream,
        extra: dict[str, Any],
        needle: str,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-err")
        body = {"model": "gpt-4o-mini", "input": "x", **extra}
        body = {k: v for k, v in body.items() if v is not None}
        response = await http.post("/v1/responses", json=body, headers=user.headers)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert needle in error["message"]
        assert fake_upstream.requests == []

    async def test_sdk_errors(
        self,
        http: httpx.AsyncClient,
        user: Account,
        sdk: openai.AsyncOpenAI,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-sdkerr")
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.create(model="no-such-model", input="x")
        with pytest.raises(openai.NotFoundError):
            await sdk.responses.create(
                model="gpt-4o-mini", input="x", previous_response_id="resp_nope"
            )
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.responses.create(
                model="gpt-4o-mini",
                input="x",
                tools=[{"type": "web_search"}],
            )
        assert "web_search" in str(caught.value)
        bad = openai.AsyncOpenAI(
            base_url=f"{live_server.url}/v1", api_key="not-a-token", max_retries=0
        )
        try:
            with pytest.raises(openai.AuthenticationError):
                await bad.responses.create(model="gpt-4o-mini", input="x")
        finally:
            await bad.close()


class TestClients:
    async def test_gateway_key(
        self,
        http: httpx.AsyncClient,
        user: Account,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        await add_key(http, user, fake_upstream, "sk-r-gk")
        fake_upstream.script("sk-r-gk", [Reply(text="via key")])
        key = await create_key(http, user, models=["gpt-4o-mini"])
        response = await http.post(
            "/v1/responses",
            json={"model": "gpt-4o-mini", "input": "hi"},
            headers=bearer(key["key"]),
        )
        assert response.status_code == 200, response.text
        assert response.json()["output"][0]["content"][0]["text"] == "via key"
        refused = await http.post(
            "/v1/responses",
            json={"model": "gpt-4o", "input": "hi"},
            headers=bearer(key["key"]),
        )
        assert refused.status_code == 403
        # The key's owner reads it back with their own token.
        got = await http.get(
            f"/v1/responses/{response.json()['id']}", headers=user.headers
        )
        assert got.status_code == 200

    async def test_langchain_use_responses_api(
        self,
        http: httpx.AsyncClient,
        user: Account,
        live_server: LiveServer,
        fake_upstream: FakeUpstream,
    ) -> None:
        from langchain_openai import ChatOpenAI

        await add_key(http, user, fake_upstream, "sk-r-lc")
        fake_upstream.script("sk-r-lc", default=Reply(text="from responses"))
        llm = ChatOpenAI(
            model="gpt-4o-mini",
            base_url=f"{live_server.url}/v1",
            api_key=_token(user),  # type: ignore[arg-type]
            max_retries=0,
            use_responses_api=True,
        )
        reply = await llm.ainvoke("Hello")
        assert reply.text == "from responses"
        chunks = [chunk async for chunk in llm.astream("Hello")]
        assert "".join(c.text for c in chunks) == "from responses"
        sent = fake_upstream.last_request.json
        assert sent["messages"][-1] == {"role": "user", "content": "Hello"}


async def test_concurrent_chains_stay_apart(
    http: httpx.AsyncClient,
    user: Account,
    sdk: openai.AsyncOpenAI,
    fake_upstream: FakeUpstream,
) -> None:
    await add_key(http, user, fake_upstream, "sk-r-cc")
    first = await asyncio.gather(
        sdk.responses.create(model="gpt-4o-mini", input="alpha"),
        sdk.responses.create(model="gpt-4o-mini", input="beta"),
    )
    follow = await sdk.responses.create(
        model="gpt-4o-mini", input="again", previous_response_id=first[1].id
    )
    assert follow.output_text == "echo: again"
    contents = [m["content"] for m in fake_upstream.last_request.json["messages"]]
    assert contents == ["beta", "echo: beta", "again"]
