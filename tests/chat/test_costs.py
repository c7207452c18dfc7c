"""One cost engine for every provider, streamed or not.

For each provider, the assistant message's meta_data (tokens, cost) and the
request log row must equal the usage the provider reported, priced by hand from
the catalog's prices (USD per 1M tokens, src/aihub/catalog/data/models.toml),
cached input included; a stream without a usage block is counted locally and
never recorded at $0."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from aihub.runtime import runtime_of
from aihub.usage.models import RequestLog
from tests.chat.helpers import add_key, get_thread, make_thread, stream
from tests.factories import Account, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.fakes.wire import FakeUsage

M = 1_000_000


@dataclass(frozen=True)
class Case:
    """A provider, a catalog model it serves and that model's catalog prices."""

    provider: str
    model: str
    input: float
    output: float
    cached_input: float
    cache_write: float | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    """A fragment of the upstream path the call must reach."""

    def key_fields(self) -> dict[str, Any]:
        return {"settings": self.settings} if self.settings else {}


CASES = [
    # gpt-4o-mini: input 0.15, output 0.6, cached_input 0.075
    Case("openai", "gpt-4o-mini", 0.15, 0.6, 0.075, path="/v1/chat/completions"),
    # gpt-4o (Azure deployment "prod-4o"): input 2.5, output 10, cached 1.25
    Case(
        "azure",
        "gpt-4o",
        2.5,
        10.0,
        1.25,
        settings={"api_version": "2024-10-21", "deployments": {"gpt-4o": "prod-4o"}},
        path="/openai/deployments/prod-4o/chat/completions",
    ),
    # claude-haiku-4-5: input 1, output 5, cache read 0.1, cache write 1.25
    Case(
        "anthropic",
        "claude-haiku-4-5",
        1.0,
        5.0,
        0.1,
        cache_write=1.25,
        path="/v1/messages",
    ),
    # qwen-plus: input 0.4, output 1.2; no cached price -> cached at input
    Case(
        "qwen", "qwen-plus", 0.4, 1.2, 0.4, path="/compatible-mode/v1/chat/completions"
    ),
    # an OpenAI-compatible server serving gpt-4.1-mini: priced by its base model
    # (input 0.4, output 1.6, cached 0.1)
    Case("openai_compatible", "gpt-4.1-mini", 0.4, 1.6, 0.1, path="/v1/chat"),
]
IDS = [case.provider for case in CASES]
OPENAI_WIRE = [case for case in CASES if case.provider != "anthropic"]

PROMPT, COMPLETION, CACHED, WRITTEN = 1200, 300, 400, 100


def reported_usage(case: Case) -> FakeUsage:
    """What the provider reports (OpenAI's convention: prompt includes cache)."""
    return FakeUsage(
        prompt_tokens=PROMPT,
        completion_tokens=COMPLETION,
        cached_tokens=CACHED,
        cache_write_tokens=WRITTEN if case.cache_write is not None else 0,
    )


def expected_cost(case: Case) -> float:
    written = WRITTEN if case.cache_write is not None else 0
    uncached = PROMPT - CACHED - written
    total = (
        uncached * case.input
        + CACHED * case.cached_input
        + written * (case.cache_write or 0.0)
        + COMPLETION * case.output
    ) / M
    return total


EXPECTED_TOKENS = {
    "prompt_tokens": PROMPT,
    "completion_tokens": COMPLETION,
    "total_tokens": PROMPT + COMPLETION,
}


async def log_rows(app: FastAPI, **where: Any) -> list[RequestLog]:
    async with runtime_of(app).sessionmaker() as session:
        stmt = select(RequestLog).order_by(RequestLog.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(RequestLog, name) == value)
        return list((await session.scalars(stmt)).all())


async def setup(
    client: httpx.AsyncClient, upstream: FakeUpstream, case: Case, secret: str
) -> tuple[Account, dict[str, Any]]:
    user = await make_user(client)
    await add_key(
        client, user, upstream, secret, provider=case.provider, **case.key_fields()
    )
    thread = await make_thread(client, user, provider=case.provider, model=case.model)
    return user, thread


def assert_row(row: RequestLog, case: Case, cost: float, *, kind: str) -> None:
    written = WRITTEN if case.cache_write is not None else 0
    assert row.kind == kind
    assert row.provider == case.provider
    assert row.model == case.model
    assert row.status == "ok"
    assert row.is_cached is False
    assert row.prompt_tokens == PROMPT
    assert row.completion_tokens == COMPLETION
    assert row.total_tokens == PROMPT + COMPLETION
    assert row.cached_tokens == CACHED
    assert row.cache_write_tokens == written
    assert row.cost == pytest.approx(cost, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("case", CASES, ids=IDS)
class TestReportedUsage:
    async def test_send(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        fake_upstream: FakeUpstream,
        case: Case,
    ) -> None:
        secret = f"sk-cost-send-{case.provider}"
        user, thread = await setup(client, fake_upstream, case, secret)
        fake_upstream.script(
            secret, [Reply(text="Priced answer", usage=reported_usage(case))]
        )
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "How much?"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert case.path in fake_upstream.last_request.path
        answer = response.json()
        cost = expected_cost(case)
        assert cost > 0
        meta = answer["meta_data"]
        assert meta["tokens"] == EXPECTED_TOKENS
        assert meta["cost"] == pytest.approx(cost, rel=1e-6, abs=1e-9)
        assert meta["usage_reported"] is True
        assert answer["tokens"] == COMPLETION
        [row] = await log_rows(app, user_id=user.id)
        assert_row(row, case, cost, kind="chat")
        assert row.thread_id == thread["id"]
        assert row.message_id == answer["id"]

    async def test_stream(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        fake_upstream: FakeUpstream,
        case: Case,
    ) -> None:
        secret = f"sk-cost-stream-{case.provider}"
        user, thread = await setup(client, fake_upstream, case, secret)
        fake_upstream.script(
            secret,
            [Reply(text="Streamed priced answer", usage=reported_usage(case))],
        )
        frames = await stream(
            client,
            f"/api/threads/{thread['id']}/stream",
            user,
            {"content": "How much?"},
        )
        sent = fake_upstream.last_request
        assert case.path in sent.path
        assert sent.json["stream"] is True
        if case.provider != "anthropic":  # OpenAI-style streams must ask for usage
            assert sent.json["stream_options"] == {"include_usage": True}
        cost = expected_cost(case)
        done = frames[-1][1]
        assert frames[-1][0] == "done"
        assert done["status"] == "complete"
        assert done["usage"] == EXPECTED_TOKENS
        assert done["cost"] == pytest.approx(cost, rel=1e-6, abs=1e-9)
        detail = await get_thread(client, user, thread["id"])
        message = detail["messages"][-1]
        assert message["id"] == done["assistant_message_id"]
        assert message["content"] == "Streamed priced answer"
        assert message["meta_data"]["tokens"] == EXPECTED_TOKENS
        assert message["meta_data"]["cost"] == pytest.approx(cost, rel=1e-6, abs=1e-9)
        assert message["meta_data"]["usage_reported"] is True
        [row] = await log_rows(app, user_id=user.id)
        assert_row(row, case, cost, kind="chat")
        assert row.message_id == message["id"]

    async def test_completion(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        fake_upstream: FakeUpstream,
        case: Case,
    ) -> None:
        secret = f"sk-cost-completion-{case.provider}"
        user = await make_user(client)
        await add_key(
            client,
            user,
            fake_upstream,
            secret,
            provider=case.provider,
            **case.key_fields(),
        )
        fake_upstream.script(
            secret, [Reply(text="Direct answer", usage=reported_usage(case))]
        )
        response = await client.post(
            "/api/threads/completion",
            json={"provider": case.provider, "model": case.model, "prompt": "Cost?"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        assert case.path in fake_upstream.last_request.path
        cost = expected_cost(case)
        body = response.json()
        assert body["tokens"] == EXPECTED_TOKENS
        assert body["cost"] == pytest.approx(cost, rel=1e-6, abs=1e-9)
        assert body["from_cache"] is False
        [row] = await log_rows(app, user_id=user.id)
        assert_row(row, case, cost, kind="completion")


async def test_stream_cut_by_upstream_still_costs(
    client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
) -> None:
    """A stream dropped mid-way: partial text stored, its tokens counted and
    priced (gpt-4o-mini: input 0.15, output 0.6), never $0."""
    case = CASES[0]
    secret = "sk-cost-dropped"
    user, thread = await setup(client, fake_upstream, case, secret)
    fake_upstream.script(
        secret,
        [Reply(text="first second third fourth", chunks=4, drop_after_chunks=2)],
    )
    frames = await stream(
        client, f"/api/threads/{thread['id']}/stream", user, {"content": "Go on"}
    )
    done = frames[-1][1]
    assert done["status"] == "error"
    tokens = done["usage"]
    assert tokens["prompt_tokens"] > 0
    assert tokens["completion_tokens"] > 0
    cost = (tokens["prompt_tokens"] * 0.15 + tokens["completion_tokens"] * 0.6) / M
    assert done["cost"] == pytest.approx(cost, rel=1e-6)
    detail = await get_thread(client, user, thread["id"])
    message = detail["messages"][-1]
    assert message["status"] == "error"
    assert message["content"].startswith("first")
    assert message["meta_data"]["usage_reported"] is False
    [row] = await log_rows(app, user_id=user.id)
    assert row.status == "error"
    assert row.cost > 0
    assert row.cost == pytest.approx(cost, rel=1e-6)


class TestReasoningAndThinking:
    async def test_qwen_thinking_output_bills_whole_output_at_thinking_rate(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        # qwen-plus: input 0.4, thinking_output 4.0 (instead of output 1.2)
        case = CASES[3]
        secret = "sk-cost-qwen-thinking"
        user, thread = await setup(client, fake_upstream, case, secret)
        usage = FakeUsage(
            prompt_tokens=1000, completion_tokens=500, reasoning_tokens=200
        )
        fake_upstream.script(secret, [Reply(text="Thought it over", usage=usage)])
        frames = await stream(
            client, f"/api/threads/{thread['id']}/stream", user, {"content": "Think"}
        )
        cost = (1000 * 0.4 + 500 * 4.0) / M
        assert frames[-1][1]["cost"] == pytest.approx(cost, rel=1e-6)
        [row] = await log_rows(app, user_id=user.id)
        assert row.reasoning_tokens == 200
        assert row.cost == pytest.approx(cost, rel=1e-6)

    async def test_openai_reasoning_tokens_are_output_tokens(
        self, client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
    ) -> None:
        # o4-mini: input 1.1, output 4.4 (reasoning billed at output), cached 0.275
        secret = "sk-cost-o4"
        user = await make_user(client)
        await add_key(client, user, fake_upstream, secret)
        thread = await make_thread(client, user, model="o4-mini")
        usage = FakeUsage(
            prompt_tokens=2000,
            completion_tokens=1000,
            cached_tokens=1000,
            reasoning_tokens=700,
        )
        fake_upstream.script(secret, [Reply(text="Reasoned", usage=usage)])
        response = await client.post(
            f"/api/threads/{thread['id']}/send",
            json={"content": "Reason"},
            headers=user.headers,
        )
        assert response.status_code == 200, response.text
        cost = (1000 * 1.1 + 1000 * 0.275 + 1000 * 4.4) / M
        assert response.json()["meta_data"]["cost"] == pytest.approx(cost, rel=1e-6)
        [row] = await log_rows(app, user_id=user.id)
        assert (row.reasoning_tokens, row.cached_tokens) == (700, 1000)
        assert row.cost == pytest.approx(cost, rel=1e-6)


@pytest.mark.parametrize("case", OPENAI_WIRE, ids=[c.provider for c in OPENAI_WIRE])
class TestStreamWithoutUsage:
    async def test_counted_locally_and_never_free(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        fake_upstream: FakeUpstream,
        case: Case,
    ) -> None:
        secret = f"sk-cost-nousage-{case.provider}"
        user, thread = await setup(client, fake_upstream, case, secret)
        text = "A streamed answer whose usage nobody reported at all"
        fake_upstream.script(secret, [Reply(text=text, stream_usage=False)])
        frames = await stream(
            client,
            f"/api/threads/{thread['id']}/stream",
            user,
            {"content": "Tell me something without a usage block please"},
        )
        done = frames[-1][1]
        assert done["status"] == "complete"
        tokens = done["usage"]
        assert tokens["prompt_tokens"] > 0
        assert tokens["completion_tokens"] > 0
        assert tokens["total_tokens"] == (
            tokens["prompt_tokens"] + tokens["completion_tokens"]
        )
        # the local count priced at the catalog's uncached rates
        cost = (
            tokens["prompt_tokens"] * case.input
            + tokens["completion_tokens"] * case.output
        ) / M
        assert done["cost"] > 0
        assert done["cost"] == pytest.approx(cost, rel=1e-6)
        detail = await get_thread(client, user, thread["id"])
        meta = detail["messages"][-1]["meta_data"]
        assert meta["usage_reported"] is False
        assert meta["tokens"] == tokens
        assert meta["cost"] == pytest.approx(cost, rel=1e-6)
        [row] = await log_rows(app, user_id=user.id)
        assert row.prompt_tokens == tokens["prompt_tokens"]
        assert row.completion_tokens == tokens["completion_tokens"]
        assert row.cost > 0
        assert row.cost == pytest.approx(cost, rel=1e-6)


async def test_anthropic_stream_without_usage_is_counted_locally(
    client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
) -> None:
    """An Anthropic-wire server that sends no usage at all (a proxy) still costs."""
    case = CASES[2]
    secret = "sk-cost-nousage-anthropic"
    user, thread = await setup(client, fake_upstream, case, secret)
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_raw",
            "type": "message",
            "role": "assistant",
            "model": case.model,
            "content": [],
            "stop_reason": None,
        },
    }
    raw = [
        sse_frame("message_start", start),
        sse_frame(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        sse_frame(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Unmetered words here"},
            },
        ),
        sse_frame("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_frame(
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
        ),
        sse_frame("message_stop", {"type": "message_stop"}),
    ]
    fake_upstream.script(secret, [Reply(raw_stream=raw)])
    frames = await stream(
        client, f"/api/threads/{thread['id']}/stream", user, {"content": "Say it"}
    )
    done = frames[-1][1]
    assert done["status"] == "complete", frames
    tokens = done["usage"]
    assert tokens["prompt_tokens"] > 0
    assert tokens["completion_tokens"] > 0
    cost = (tokens["prompt_tokens"] * 1.0 + tokens["completion_tokens"] * 5.0) / M
    assert done["cost"] == pytest.approx(cost, rel=1e-6)
    detail = await get_thread(client, user, thread["id"])
    assert detail["messages"][-1]["content"] == "Unmetered words here"
    assert detail["messages"][-1]["meta_data"]["usage_reported"] is False
    [row] = await log_rows(app, user_id=user.id)
    assert row.cost > 0
    assert row.cost == pytest.approx(cost, rel=1e-6)


def sse_frame(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


async def test_another_users_thread_is_404_and_nothing_is_billed(
    client: httpx.AsyncClient, app: FastAPI, fake_upstream: FakeUpstream
) -> None:
    case = CASES[0]
    owner, thread = await setup(client, fake_upstream, case, "sk-cost-owner")
    intruder = await make_user(client)
    await add_key(client, intruder, fake_upstream, "sk-cost-intruder")
    for path in ("send", "stream"):
        response = await client.post(
            f"/api/threads/{thread['id']}/{path}",
            json={"content": "Not my thread"},
            headers=intruder.headers,
        )
        assert response.status_code == 404, response.text
        assert response.json()["error_type"] == "not_found"
    assert fake_upstream.requests == []
    assert await log_rows(app) == []
    detail = await get_thread(client, owner, thread["id"])
    assert [m["role"] for m in detail["messages"]] == []
