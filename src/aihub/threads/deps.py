"""Path and query parameters shared by the thread routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from aihub.threads.schemas import DB_INT_MAX, SEARCH_MAX, Text, ThreadFilters

ThreadId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]


def _thread_filters(
    category_id: Annotated[int | None, Query(ge=1, le=DB_INT_MAX)] = None,
    is_archived: bool | None = None,
    is_pinned: bool | None = None,
    search: Annotated[Text | None, Query(max_length=SEARCH_MAX)] = None,
) -> ThreadFilters:
    """The list filters; `search` looks in titles and message text alike."""
    return ThreadFilters(
        category_id=category_id,
        is_archived=is_archived,
        is_pinned=is_pinned,
        search=search.strip() if search else None,
    )


ThreadQuery = Annotated[ThreadFilters, Depends(_thread_filters)]
