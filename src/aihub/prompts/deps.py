"""Query parameters of the prompt list."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from aihub.categories.schemas import Text
from aihub.core.ids import IdQuery
from aihub.prompts.schemas import SEARCH_MAX, PromptFilters


def _prompt_filters(
    category_id: IdQuery = None,
    is_favorite: bool | None = None,
    search: Annotated[Text | None, Query(max_length=SEARCH_MAX)] = None,
) -> PromptFilters:
    """`search` matches title or content, case-insensitively; blank is no filter."""
    return PromptFilters(
        category_id=category_id,
        is_favorite=is_favorite,
        search=search.strip() or None if search else None,
    )


PromptQuery = Annotated[PromptFilters, Depends(_prompt_filters)]
