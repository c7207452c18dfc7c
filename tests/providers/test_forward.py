"""The gateway's pass-through: the upstream's bytes, untouched, errors first."""

from __future__ import annotations

import aiohttp
import orjson
import pytest

from aihub.providers.anthropic import AnthropicAdapter
from aihub.providers.azure import AzureAdapter
from aihub.providers.base import Usage
from aihub.providers.errors import (
    UpstreamQuotaExceeded,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from aihub.providers.forward import ForwardResponse
from aihub.providers.http import Timeouts
from aihub.providers.openai import OpenAIAdapter
from tests.fakes import FakeUpstream, FakeUsage, Reply
from tests.providers.builders import creds

openai = OpenAIAdapter()
BODY = orjson.dumps(
    {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
)
FRAMES = [
    b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"He"}}]}\n\n',
    b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"llo"}}]}\n\n',
    b'data: {"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b'data: {"id":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,'
    b'"total_tokens":5,"prompt_tokens_details":{"cached_tokens":1}}}\n\n',
    b"data: [DONE]\n\n",
]


async def _read_all(reply: ForwardResponse, into: list[bytes] | None = None) -> bytes:
    """Every chunk (kept in ``into`` even when one raises), then release."""
    chunks = [] if into is None else into
    async with reply:
        async for chunk in reply:
            chunks.append(chunk)
    return b"".join(chunks)


class TestStream:
    async def test_yields_the_exact_upstream_bytes(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-a", [Reply(raw_stream=FRAMES)])

        reply = await openai.forward(
            http,
            creds(fake_upstream, "openai", "sk-a"),
            "chat/completions",
            BODY,
            stream=True,
        )
        received = await _read_all(reply)

        assert received == b"".join(FRAMES)
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "text/event-stream"
        assert fake_upstream.last_request.body == BODY
        assert fake_upstream.last_request.path == "/v1/chat/completions"

    async def test_reads_usage_from_the_end_of_the_stream(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        usage = FakeUsage(prompt_tokens=40, completion_tokens=6, cached_tokens=30)
        fake_upstream.script("sk-a", [Reply(text="a b c d e f", chunks=6, usage=usage)])

        reply = await openai.forward(
            http,
            creds(fake_upstream, "openai", "sk-a"),
            "chat/completions",
            BODY,
            stream=True,
        )
        received = await _read_all(reply)

        assert received.endswith(b"data: [DONE]\n\n")
        assert reply.usage() == Usage(
            prompt_tokens=40, completion_tokens=6, cached_tokens=30, total_tokens=46
        )

    async def test_error_status_raises_before_any_byte(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-a", [Reply(status=429, retry_after=3)])

        with pytest.raises(UpstreamRateLimited) as raised:
            await openai.forward(
                http,
                creds(fake_upstream, "openai", "sk-a"),
                "chat/completions",
                BODY,
                stream=True,
            )

        assert raised.value.retry_after == 3.0

    async def test_drop_raises_after_the_bytes_already_passed(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script("sk-a", [Reply(raw_stream=FRAMES, drop_after_chunks=2)])
        received: list[bytes] = []

        reply = await openai.forward(
            http,
            creds(fake_upstream, "openai", "sk-a"),
            "chat/completions",
            BODY,
            stream=True,
        )
        with pytest.raises(UpstreamUnavailable):
            await _read_all(reply, into=received)

        assert b"".join(received) == b"".join(FRAMES[:2])

    async def test_silence_past_the_idle_timeout_raises(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply_spec = Reply(raw_stream=FRAMES, stall_after_chunks=1, stall_s=3.0)
        fake_upstream.script("sk-a", [reply_spec])

        reply = await openai.forward(
            http,
            creds(fake_upstream, "openai", "sk-a"),
            "chat/completions",
            BODY,
            stream=True,
            timeouts=Timeouts(idle_s=0.3),
        )
        with pytest.raises(UpstreamTimeout):
            await _read_all(reply)


class TestNonStream:
    async def test_returns_the_exact_body_and_its_usage(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        body = (
            b'{"id":"chatcmpl-1",  "choices":[{"index":0,"message":{"role":"assistant",'
            b'"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,'
            b'"completion_tokens":1,"total_tokens":3}}'
        )
        fake_upstream.script("sk-a", [Reply(body=body)])

        reply = await openai.forward(
            http,
            creds(fake_upstream, "openai", "sk-a"),
            "chat/completions",
            BODY,
            stream=False,
        )

        assert reply.body == body
        assert await _read_all(reply) == body
        assert reply.usage() == Usage(
            prompt_tokens=2, completion_tokens=1, total_tokens=3
        )

    async def test_quota_error_raises_from_forward(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        fake_upstream.script(
            "sk-a", [Reply(status=429, error_code="insufficient_quota")]
        )

        with pytest.raises(UpstreamQuotaExceeded):
            await openai.forward(
                http,
                creds(fake_upstream, "openai", "sk-a"),
                "embeddings",
                b'{"model":"text-embedding-3-small","input":"x"}',
                stream=False,
            )

    async def test_a_get_without_body_lists_models(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        reply = await openai.forward(
            http, creds(fake_upstream, "openai"), "/v1/models", None, stream=False
        )

        assert fake_upstream.last_request.method == "GET"
        assert fake_upstream.last_request.path == "/v1/models"
        assert orjson.loads(reply.body or b"")["object"] == "list"

    async def test_azure_takes_the_deployment_from_the_body(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        credentials = creds(
            fake_upstream, "azure", "az-key", deployments={"gpt-4o": "prod-4o"}
        )
        body = b'{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}'

        reply = await AzureAdapter().forward(
            http, credentials, "chat/completions", body, stream=False
        )

        sent = fake_upstream.last_request
        assert sent.path == "/openai/deployments/prod-4o/chat/completions"
        assert sent.headers["api-key"] == "az-key"
        assert sent.body == body
        assert orjson.loads(reply.body or b"")["model"] == "prod-4o"


class TestAnthropic:
    async def test_passes_anthropic_events_through_and_reads_their_usage(
        self, http: aiohttp.ClientSession, fake_upstream: FakeUpstream
    ) -> None:
        usage = FakeUsage(
            prompt_tokens=500,
            completion_tokens=7,
            cached_tokens=300,
            cache_write_tokens=100,
        )
        fake_upstream.script("sk-ant", [Reply(text="one two three", usage=usage)])
        body = orjson.dumps(
            {
                "model": "claude-sonnet-4-5",
                "max_tokens": 100,
                "stream": True,
                "messages": [{"role": "user", "content": "Hi"}],
            }
        )

        reply = await AnthropicAdapter().forward(
            http,
            creds(fake_upstream, "anthropic", "sk-ant"),
            "/v1/messages",
            body,
            stream=True,
        )
        received = await _read_all(reply)

        assert received.startswith(b"event: message_start\n")
        assert received.endswith(b'data: {"type":"message_stop"}\n\n')
        assert fake_upstream.last_request.body == body
        assert reply.usage() == Usage(
            prompt_tokens=500,
            completion_tokens=7,
            cached_tokens=300,
            cache_write_tokens=100,
            total_tokens=507,
        )
