"""Qwen through DashScope's OpenAI-compatible mode."""

from __future__ import annotations

from typing import Any

import aiohttp

from aihub.providers.base import Usage, UsageReport
from aihub.providers.qwen import DASHSCOPE_INTL, QwenAdapter
from tests.fakes import FakeUpstream, FakeUsage, Reply
from tests.providers.builders import PNG_DATA_URL, ask, collect, creds, text_of

adapter = QwenAdapter()


def test_defaults_to_dashscope_international() -> None:
    assert adapter.default_base_url == DASHSCOPE_INTL
    assert DASHSCOPE_INTL == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"


async def test_completes_on_the_compatible_mode_path(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    done = await adapter.complete(
        http,
        creds(fake_upstream, "qwen", "sk-dash"),
        ask(model="qwen-plus", max_tokens=8),
    )

    sent = fake_upstream.last_request
    assert sent.path == "/compatible-mode/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-dash"
    assert sent.json["max_tokens"] == 8
    assert done.text == "echo: Hello there"


async def test_streams_with_usage_and_cached_tokens(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    usage = FakeUsage(prompt_tokens=30, completion_tokens=4, cached_tokens=10)
    fake_upstream.script("sk-dash", [Reply(text="Ni hao", usage=usage)])

    events = await collect(
        adapter.stream(http, creds(fake_upstream, "qwen", "sk-dash"), ask("hi"))
    )

    assert text_of(events) == "Ni hao"
    assert events[-1] == UsageReport(
        Usage(prompt_tokens=30, completion_tokens=4, cached_tokens=10, total_tokens=34)
    )


async def test_sends_images_for_vision_models(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": PNG_DATA_URL}},
    ]

    await adapter.complete(
        http, creds(fake_upstream, "qwen"), ask(parts, model="qwen-vl-max")
    )

    content = fake_upstream.last_request.json["messages"][0]["content"]
    assert content[1] == {"type": "image_url", "image_url": {"url": PNG_DATA_URL}}


async def test_lists_models(
    http: aiohttp.ClientSession, fake_upstream: FakeUpstream
) -> None:
    fake_upstream.models = ["qwen-plus", "qwen-max"]

    models = await adapter.list_models(http, creds(fake_upstream, "qwen"))

    assert models == ["qwen-plus", "qwen-max"]
    assert fake_upstream.last_request.path == "/compatible-mode/v1/models"
