"""Seed 002: a question, its answer, and the history of both."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from aihub.threads.schemas import Content, ModelName, Provider

RECENT_DEFAULT = 3
RECENT_MAX = 100


class AskRequest(BaseModel):
    """``model`` picks the model (its provider from the catalog); ``provider``
    is optional beyond the seed. Neither: the user's default."""

    question: Content = Field(min_length=1)
    model: ModelName | None = None
    provider: Provider | None = None


class AskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    question: str
    answer: str
    model: str
    created_at: datetime


class AdminAskRead(AskRead):
    user_id: int
    provider: str
    status: str
