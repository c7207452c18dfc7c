"""Provider name -> its adapter (one stateless instance per provider).

    adapter = get_adapter("anthropic")
    async for event in adapter.stream(http, creds, request): ...

Names are provider_keys' ``provider`` values. ``get_forwarding_adapter``
answers the gateway's pass-through question (which providers can take raw
bytes, and in which wire format), ``get_embedding_adapter`` the embeddings one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from aihub.providers.anthropic import AnthropicAdapter
from aihub.providers.azure import AzureAdapter
from aihub.providers.base import Adapter, EmbeddingAdapter, ForwardingAdapter
from aihub.providers.bedrock import BedrockAdapter
from aihub.providers.compat import OpenAICompatibleAdapter
from aihub.providers.gemini import GeminiAdapter
from aihub.providers.openai import OpenAIAdapter
from aihub.providers.qwen import QwenAdapter

_OPENAI = OpenAIAdapter()
_AZURE = AzureAdapter()
_ANTHROPIC = AnthropicAdapter()
_QWEN = QwenAdapter()
_COMPAT = OpenAICompatibleAdapter()
_GEMINI = GeminiAdapter()
_BEDROCK = BedrockAdapter()

ADAPTERS: Mapping[str, Adapter] = MappingProxyType(
    {
        a.name: a
        for a in (_OPENAI, _AZURE, _ANTHROPIC, _QWEN, _COMPAT, _GEMINI, _BEDROCK)
    }
)
FORWARDING: Mapping[str, ForwardingAdapter] = MappingProxyType(
    {a.name: a for a in (_OPENAI, _AZURE, _ANTHROPIC, _QWEN, _COMPAT)}
)
EMBEDDING: Mapping[str, EmbeddingAdapter] = MappingProxyType(
    {a.name: a for a in (_OPENAI, _AZURE, _QWEN, _COMPAT, _GEMINI)}
)
DEFAULT_BASE_URLS: Mapping[str, str | None] = MappingProxyType(
    {name: adapter.default_base_url for name, adapter in ADAPTERS.items()}
)
PROVIDERS: tuple[str, ...] = tuple(ADAPTERS)
"""openai, azure, anthropic, qwen, openai_compatible, gemini, bedrock (the last
two are called through aihub's translation: no pass-through)."""


class UnknownProviderError(LookupError):
    """No adapter has this name (a programming or data error, not an upstream one)."""


def get_adapter(provider: str) -> Adapter:
    try:
        return ADAPTERS[provider]
    except KeyError:
        raise UnknownProviderError(provider) from None


def get_forwarding_adapter(provider: str) -> ForwardingAdapter | None:
    return FORWARDING.get(provider)


def get_embedding_adapter(provider: str) -> EmbeddingAdapter | None:
    return EMBEDDING.get(provider)
