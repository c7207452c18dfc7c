"""Any OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio...)."""

from __future__ import annotations

import aiohttp

from aihub.providers.base import Credentials, Finish
from aihub.providers.compat import OpenAICompatibleAdapter
from tests.fakes import FakeUpstream, Reply
from tests.providers.builders import ask, collect, text_of

adapter = OpenAICompatibleAdapter()


def _ollama(fake: FakeUpstream, key: str = "") -> Credentials:
    return Credentials(api_key=key, base_url=fake.base_url("openai_compatible"))


async def test_a_keyless_server_gets_no_authorization_header(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    done = await adapter.complete(
        http, _ollama(fake_upstream), ask(model="llama3.2", max_tokens=16)
    )

    sent = fake_upstream.last_request
    assert "authorization" not in sent.headers
    assert sent.json["max_tokens"] == 16
    assert done.text == "echo: Hello there"


async def test_a_key_is_sent_as_bearer(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    await adapter.complete(http, _ollama(fake_upstream, "gsk-1"), ask())

    assert fake_upstream.last_request.headers["authorization"] == "Bearer gsk-1"


async def test_streams_from_the_base_url(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    events = await collect(adapter.stream(http, _ollama(fake_upstream), ask("hey")))

    assert text_of(events) == "echo: hey"
    assert Finish("stop") in events
    assert fake_upstream.last_request.path == "/v1/chat/completions"


async def test_extra_headers_from_settings_are_sent(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    credentials = Credentials(
        api_key="or-key",
        base_url=fake_upstream.base_url("openai_compatible"),
        settings={"headers": {"HTTP-Referer": "https://aihub.local"}},
    )

    await adapter.complete(http, credentials, ask())

    assert fake_upstream.last_request.headers["http-referer"] == "https://aihub.local"


async def test_discovers_models_from_the_base_url(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.models = ["llama3.2", "qwen2.5-coder"]

    models = await adapter.list_models(http, _ollama(fake_upstream))

    assert models == ["llama3.2", "qwen2.5-coder"]
    assert fake_upstream.last_request.path == "/v1/models"


async def test_reads_an_ollama_style_model_list(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    body = {"models": [{"name": "llama3.2:latest"}, {"model": "phi4"}]}
    fake_upstream.script("", [Reply(body=body)])

    models = await adapter.list_models(http, _ollama(fake_upstream))

    assert models == ["llama3.2:latest", "phi4"]
