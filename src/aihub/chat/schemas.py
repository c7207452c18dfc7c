"""Wire shapes of sending, streaming and direct completion (seed 003)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, field_validator, model_validator

from aihub.threads.schemas import (
    Content,
    MaxTokens,
    ModelName,
    Provider,
    Temperature,
    ThreadCreate,
    _check_metadata,
)

ImageUrl = Annotated[str, Field(min_length=1, max_length=20_000_000)]
MAX_IMAGES = 16
DEFAULT_TIMEOUT_S = 120.0
MAX_TIMEOUT_S = 3600.0

TimeoutSeconds = Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)]


class SendMessage(BaseModel):
    """POST /api/threads/{id}/send and /stream. Beyond the seed: provider and
    model (this message only), images (URLs or data: URLs, for vision models)
    and meta_data stored with the user message."""

    content: Content = Field(min_length=1)
    system_prompt: Content | None = None
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    provider: Provider | None = None
    model: ModelName | None = None
    images: list[ImageUrl] | None = Field(default=None, max_length=MAX_IMAGES)
    meta_data: dict[str, Any] | None = None

    @field_validator("meta_data")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any]:
        return _check_metadata(value)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class EditMessage(BaseModel):
    """POST /api/threads/{id}/messages/{message_id}/edit: a new version of a user
    message (a sibling branch), answered anew."""

    content: Content = Field(min_length=1)
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    provider: Provider | None = None
    model: ModelName | None = None


class RegenerateOptions(BaseModel):
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    provider: Provider | None = None
    model: ModelName | None = None


class ThreadStreamCreate(ThreadCreate):
    """POST /api/threads/stream: a thread whose initial_message is answered."""

    @model_validator(mode="after")
    def _needs_message(self) -> ThreadStreamCreate:
        if not (self.initial_message or "").strip():
            raise ValueError("initial_message is required to stream an answer")
        return self


class StopResult(BaseModel):
    success: bool
    message: str


class CompletionRequest(BaseModel):
    """POST /api/threads/completion. ``cache``: answer identical requests from
    the cache even when temperature is not 0."""

    provider: Provider | None = None
    model: ModelName | None = None
    prompt: Content = Field(min_length=1)
    max_tokens: MaxTokens | None = None
    temperature: Temperature | None = None
    system_prompt: Content | None = None
    cache: bool | None = None


class TokenBlock(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionRead(BaseModel):
    text: str
    model: str
    provider: str
    tokens: TokenBlock
    cost: float
    from_cache: bool
