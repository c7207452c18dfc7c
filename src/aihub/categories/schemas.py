"""Wire shapes of /api/categories (seed 003, section "Категории").

Names are trimmed and single-line; colours are CSS hex, `#RRGGBB` or `#RGB`,
stored as sent. Text the databases cannot store (NUL, lone surrogates) is a 422
on every engine, not a driver error on one."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

NAME_MAX = 200
DESCRIPTION_MAX = 5000
COLOR_PATTERN = r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"


def check_text(value: str) -> str:
    """Reject what no database stores: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def check_label(value: str) -> str:
    """A one-line label: trimmed, not blank, no control characters."""
    value = check_text(value).strip()
    if not value:
        raise ValueError("must not be blank")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters or line breaks")
    return value


Text = Annotated[str, AfterValidator(check_text)]
Label = Annotated[str, AfterValidator(check_label)]
Name = Annotated[Label, Field(min_length=1, max_length=NAME_MAX)]
Description = Annotated[Text, Field(max_length=DESCRIPTION_MAX)]
Color = Annotated[str, Field(pattern=COLOR_PATTERN)]


class CategoryCreate(BaseModel):
    name: Name
    description: Description | None = None
    color: Color | None = None


class CategoryUpdate(BaseModel):
    """Partial: only the fields sent change. `description` or `color` null clears
    it; `name` null is ignored (a category always has a name)."""

    name: Name | None = None
    description: Description | None = None
    color: Color | None = None


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    description: str | None
    color: str | None
    created_at: datetime
    updated_at: datetime


class CategoryBrief(BaseModel):
    """The short category seed 003 nests in a prompt."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    color: str | None
