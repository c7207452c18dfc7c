"""The fake upstream itself: scripting, recording, and its failure knobs."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest

from aihub.providers.base import StreamEvent
from aihub.providers.openai import OpenAIAdapter
from tests.fakes import FakeUpstream, Reply
from tests.providers.builders import ask, collect, creds, text_of

adapter = OpenAIAdapter()


async def _outcome(fake: FakeUpstream, index: int, wanted: str) -> str:
    for _ in range(500):
        outcome = fake.requests[index].outcome
        if outcome == wanted:
            break
        await asyncio.sleep(0.01)
    return fake.requests[index].outcome


async def test_replies_come_from_the_key_queue_then_its_default_then_echo(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.script("sk-q", [Reply(text="first")], default=Reply(text="again"))
    credentials = creds(fake_upstream, "openai", "sk-q")

    texts = [(await adapter.complete(http, credentials, ask())).text for _ in range(3)]
    other = await adapter.complete(http, creds(fake_upstream, "openai", "sk-z"), ask())

    assert texts == ["first", "again", "again"]
    assert other.text == "echo: Hello there"
    assert [r.key for r in fake_upstream.requests] == ["sk-q"] * 3 + ["sk-z"]


async def test_records_the_key_of_every_header_style(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    url = fake_upstream.url
    headers = [
        {"Authorization": "Bearer k-bearer"},
        {"api-key": "k-azure"},
        {"x-api-key": "k-anthropic"},
    ]
    for header in headers:
        async with http.get(f"{url}/v1/models", headers=header) as resp:
            assert resp.status == 200

    assert [r.key for r in fake_upstream.requests] == [
        "k-bearer",
        "k-azure",
        "k-anthropic",
    ]


async def test_rejects_an_anthropic_request_without_max_tokens(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    body = {"model": "claude", "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}

    async with http.post(
        f"{fake_upstream.url}/v1/messages", json=body, headers=headers
    ) as resp:
        payload = await resp.json()

    assert resp.status == 400
    assert payload["type"] == "error"
    assert "max_tokens" in payload["error"]["message"]


async def test_an_unknown_path_is_404(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    async with http.post(f"{fake_upstream.url}/v2/nothing", data=b"{}") as resp:
        assert resp.status == 404


async def test_a_gate_holds_the_stream_until_set(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    gate = threading.Event()
    reply = Reply(text="abcdef", chunks=3, gate=gate, gate_after_chunks=1)
    fake_upstream.script("sk-g", [reply])
    stream = adapter.stream(http, creds(fake_upstream, "openai", "sk-g"), ask())

    first = await anext(stream)
    gate.set()
    rest: list[StreamEvent] = await collect(stream)

    assert text_of([first, *rest]) == "abcdef"
    # the server thread records the outcome just after its last write
    index = len(fake_upstream.requests) - 1
    assert await _outcome(fake_upstream, index, "complete") == "complete"


async def test_a_client_leaving_mid_stream_is_recorded(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    gate = threading.Event()
    fake_upstream.script("sk-d", [Reply(text="abcdef", chunks=3, gate=gate)])
    stream = adapter.stream(http, creds(fake_upstream, "openai", "sk-d"), ask())

    await anext(stream)
    await stream.aclose()

    assert await _outcome(fake_upstream, 0, "client_disconnected") == (
        "client_disconnected"
    )


def test_base_urls_of_each_provider(fake_upstream: FakeUpstream) -> None:
    url = fake_upstream.url
    assert url.startswith("http://127.0.0.1:")
    assert fake_upstream.base_url("openai") == f"{url}/v1"
    assert fake_upstream.base_url("openai_compatible") == f"{url}/v1"
    assert fake_upstream.base_url("qwen") == f"{url}/compatible-mode/v1"
    assert fake_upstream.base_url("azure") == url
    assert fake_upstream.base_url("anthropic") == url


async def test_waiting_for_requests_that_never_come_fails(
    fake_upstream: FakeUpstream,
) -> None:
    with pytest.raises(AssertionError, match="expected 1 upstream requests"):
        await fake_upstream.wait_for_requests(1, within_s=0.05)
