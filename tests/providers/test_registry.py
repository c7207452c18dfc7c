"""Provider names to adapters."""

from __future__ import annotations

import pytest

from aihub.providers.registry import (
    DEFAULT_BASE_URLS,
    PROVIDERS,
    UnknownProviderError,
    get_adapter,
    get_embedding_adapter,
    get_forwarding_adapter,
)


def test_knows_every_provider_of_the_issue() -> None:
    assert set(PROVIDERS) == {
        "openai",
        "azure",
        "anthropic",
        "qwen",
        "openai_compatible",
        "gemini",
        "bedrock",
    }
    assert all(get_adapter(name).name == name for name in PROVIDERS)


def test_default_base_urls() -> None:
    assert DEFAULT_BASE_URLS == {
        "openai": "https://api.openai.com/v1",
        "azure": None,
        "anthropic": "https://api.anthropic.com",
        "qwen": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "openai_compatible": None,
        "gemini": "https://generativelanguage.googleapis.com/v1beta",
        "bedrock": "https://bedrock-runtime.us-east-1.amazonaws.com",
    }


def test_an_unknown_provider_raises() -> None:
    with pytest.raises(UnknownProviderError):
        get_adapter("nope")


def test_forwarding_adapters_say_their_wire_format() -> None:
    wires = {name: get_forwarding_adapter(name) for name in PROVIDERS}

    assert {name: a.wire for name, a in wires.items() if a is not None} == {
        "openai": "openai",
        "azure": "openai",
        "anthropic": "anthropic",
        "qwen": "openai",
        "openai_compatible": "openai",
    }
    assert get_forwarding_adapter("nope") is None


def test_native_gemini_and_bedrock_are_translated_not_forwarded() -> None:
    for name in ("gemini", "bedrock"):
        assert get_forwarding_adapter(name) is None
    assert get_embedding_adapter("gemini") is not None
    assert get_embedding_adapter("bedrock") is None


def test_anthropic_has_no_embeddings() -> None:
    assert get_embedding_adapter("anthropic") is None
    assert get_embedding_adapter("openai") is not None
