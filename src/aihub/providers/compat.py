"""Any OpenAI-compatible server at a base_url: Ollama (http://host:11434/v1),
vLLM, llama.cpp's server, LM Studio, OpenRouter, DeepSeek, Groq... The key is
optional (no Authorization header without one); models come from GET
{base_url}/models. ``max_tokens`` is sent (what every such server knows)."""

from __future__ import annotations

from aihub.providers.openai import OpenAIWireAdapter


class OpenAICompatibleAdapter(OpenAIWireAdapter):
    name = "openai_compatible"
    default_base_url = None
    max_tokens_field = "max_tokens"
