"""Wire shapes of /api/prompts (seed 003, section "Промпты"), plus rendering.

A prompt read carries the seed's nested "category" ({id, name, description,
color} or null) and one extra field, "variables": the `{names}` in its content.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    computed_field,
)

from aihub.categories.schemas import CategoryBrief, Label, Text
from aihub.core.ids import Id
from aihub.prompts import templates

TITLE_MAX = 500
CONTENT_MAX = 100_000
DESCRIPTION_MAX = 5000
SEARCH_MAX = 500
VARIABLES_MAX = 200
VARIABLE_NAME_MAX = 200
VALUE_MAX = 100_000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _number_as_text(value: Any) -> Any:
    """A value may be sent as a JSON number (not a boolean): `5` fills in "5"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Title = Annotated[Label, Field(min_length=1, max_length=TITLE_MAX)]
Content = Annotated[
    Text, Field(min_length=1, max_length=CONTENT_MAX), AfterValidator(_not_blank)
]
Description = Annotated[Text, Field(max_length=DESCRIPTION_MAX)]
VariableName = Annotated[Text, Field(min_length=1, max_length=VARIABLE_NAME_MAX)]
VariableValue = Annotated[
    Text, BeforeValidator(_number_as_text), Field(max_length=VALUE_MAX)
]


class PromptCreate(BaseModel):
    title: Title
    content: Content
    description: Description | None = None
    category_id: Id | None = None
    is_favorite: bool = False


class PromptUpdate(BaseModel):
    """Partial: only the fields sent change. `description` or `category_id` null
    clears it; `title`, `content` or `is_favorite` null is ignored."""

    title: Title | None = None
    content: Content | None = None
    description: Description | None = None
    category_id: Id | None = None
    is_favorite: bool | None = None


class PromptFilters(BaseModel):
    """The list's query: all optional, combined with AND."""

    category_id: int | None = None
    is_favorite: bool | None = None
    search: str | None = None


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
        """The `{variables}` of the content, in order of first appearance."""
        return templates.variables(self.content)


class PromptRender(BaseModel):
    """Values for the prompt's variables; names the prompt lacks are ignored."""

    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict, max_length=VARIABLES_MAX
    )


class PromptRendered(BaseModel):
    text: str
    variables: list[str]
