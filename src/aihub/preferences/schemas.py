"""Wire shapes of /api/models/preferences (seed 003, section "Настройки моделей").

`provider` is a slug (lowercase letters, digits, `_`, `.`, `-`; at most 64
characters); it is trimmed and lowercased first, so "OpenAI" is "openai".
Text the databases cannot store (NUL, lone surrogates) is a 422 everywhere."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

PROVIDER_MAX = 64
PROVIDER_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
MODEL_MAX = 200
SYSTEM_PROMPT_MAX = 100_000
MAX_TOKENS_MAX = 1_000_000


def _check_text(value: str) -> str:
    """Reject what no database stores: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _check_model(value: str) -> str:
    value = _check_text(value).strip()
    if not value:
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _normalise_provider(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Provider = Annotated[
    str,
    BeforeValidator(_normalise_provider),
    Field(min_length=1, max_length=PROVIDER_MAX, pattern=PROVIDER_PATTERN),
]
ModelName = Annotated[
    str, Field(min_length=1, max_length=MODEL_MAX), AfterValidator(_check_model)
]
MaxTokens = Annotated[int, Field(ge=1, le=MAX_TOKENS_MAX)]
Temperature = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)]
SystemPrompt = Annotated[
    str, Field(max_length=SYSTEM_PROMPT_MAX), AfterValidator(_check_text)
]


class PreferenceCreate(BaseModel):
    provider: Provider
    model: ModelName
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    system_prompt: SystemPrompt | None = None
    is_default: bool = False


class PreferenceUpdate(BaseModel):
    """Partial: only the fields sent change. `max_tokens`, `temperature` or
    `system_prompt` null clears it; `provider`, `model` or `is_default` null is
    ignored."""

    provider: Provider | None = None
    model: ModelName | None = None
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    system_prompt: SystemPrompt | None = None
    is_default: bool | None = None


class PreferenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    provider: str
    model: str
    max_tokens: int | None
    temperature: float | None
    system_prompt: str | None
    is_default: bool
    created_at: datetime
    updated_at: datetime
