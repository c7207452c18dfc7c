from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field

from aihub.categories.schemas import CategoryBrief
from aihub.core.ids import Id
from aihub.prompts import templates


class PromptCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    content: str = Field(min_length=1, max_length=100_000)
    description: str | None = Field(default=None, max_length=5000)
    category_id: Id | None = None
    is_favorite: bool = False


class PromptUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    content: str | None = Field(default=None, min_length=1, max_length=100_000)
    description: str | None = Field(default=None, max_length=5000)
    category_id: Id | None = None
    is_favorite: bool | None = None


class PromptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    title: str
    content: str
    description: str | None
    category_id: int | None
    is_favorite: bool
    created_at: datetime
    updated_at: datetime
    category: CategoryBrief | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def variables(self) -> list[str]:
        return templates.variables(self.content)


class PromptRender(BaseModel):
    variables: dict[str, str] = Field(default_factory=dict, max_length=200)


class PromptRendered(BaseModel):
    text: str
    variables: list[str]
