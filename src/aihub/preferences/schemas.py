from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

PROVIDER_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


class PreferenceCreate(BaseModel):
    provider: str = Field(pattern=PROVIDER_PATTERN)
    model: str = Field(min_length=1, max_length=200)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    system_prompt: str | None = Field(default=None, max_length=100_000)
    is_default: bool = False


class PreferenceUpdate(BaseModel):
    provider: str | None = Field(default=None, pattern=PROVIDER_PATTERN)
    model: str | None = Field(default=None, min_length=1, max_length=200)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    temperature: float | None = Field(default=None, ge=0, le=2)
    system_prompt: str | None = Field(default=None, max_length=100_000)
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
