"""Presets for common OpenAI-compatible services: a key added with
``"preset": "groq"`` is an ``openai_compatible`` key whose base_url is the
service's (unless one is given: a self-hosted Ollama or vLLM elsewhere), with
``settings.preset`` naming it. Its models are then discovered from the
service's ``/models`` like those of any OpenAI-compatible key.

GET /api/api-keys/presets lists them for the web app's key form.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

PresetId = Literal[
    "openrouter", "groq", "mistral", "deepseek", "together", "xai", "ollama", "vllm"
]
NO_KEY = "none"
"""The api_key stored for a preset that needs none (Ollama, vLLM)."""


class Preset(BaseModel):
    id: PresetId
    name: str
    provider: Literal["openai_compatible"] = "openai_compatible"
    base_url: str
    key_required: bool
    """False: the service takes any key (aihub stores ``none`` when none is
    given)."""
    local: bool = False
    """A server usually run by the team itself: its base_url is typically
    edited, and only an administrator's (global) key may reach an internal
    address."""
    docs_url: str


PRESETS: tuple[Preset, ...] = (
    Preset(
        id="openrouter",
        name="OpenRouter",
        base_url="https://openrouter.ai/api/v1",
        key_required=True,
        docs_url="https://openrouter.ai/docs/quickstart",
    ),
    Preset(
        id="groq",
        name="Groq",
        base_url="https://api.groq.com/openai/v1",
        key_required=True,
        docs_url="https://console.groq.com/docs/openai",
    ),
    Preset(
        id="mistral",
        name="Mistral AI",
        base_url="https://api.mistral.ai/v1",
        key_required=True,
        docs_url="https://docs.mistral.ai/api/",
    ),
    Preset(
        id="deepseek",
        name="DeepSeek",
        base_url="https://api.deepseek.com/v1",
        key_required=True,
        docs_url="https://api-docs.deepseek.com/",
    ),
    Preset(
        id="together",
        name="Together AI",
        base_url="https://api.together.xyz/v1",
        key_required=True,
        docs_url="https://docs.together.ai/docs/openai-api-compatibility",
    ),
    Preset(
        id="xai",
        name="xAI (Grok)",
        base_url="https://api.x.ai/v1",
        key_required=True,
        docs_url="https://docs.x.ai/docs/api-reference",
    ),
    Preset(
        id="ollama",
        name="Ollama",
        base_url="http://localhost:11434/v1",
        key_required=False,
        local=True,
        docs_url="https://github.com/ollama/ollama/blob/main/docs/openai.md",
    ),
    Preset(
        id="vllm",
        name="vLLM",
        base_url="http://localhost:8000/v1",
        key_required=False,
        local=True,
        docs_url="https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
    ),
)
BY_ID: dict[str, Preset] = {p.id: p for p in PRESETS}
