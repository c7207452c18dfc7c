"""Qwen through DashScope's OpenAI-compatible mode (Bearer key); the OpenAI
adapter with DashScope's international endpoint as the default base_url
(mainland China: https://dashscope.aliyuncs.com/compatible-mode/v1)."""

from __future__ import annotations

from aihub.providers.openai import OpenAIWireAdapter

DASHSCOPE_INTL = "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"


class QwenAdapter(OpenAIWireAdapter):
    name = "qwen"
    default_base_url = DASHSCOPE_INTL
    max_tokens_field = "max_tokens"
