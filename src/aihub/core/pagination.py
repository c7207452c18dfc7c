"""skip/limit paging as seed 003 defines it (default 0 and 100)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel


class PageParams(BaseModel):
    skip: int = 0
    limit: int = 100


def _page_params(
    skip: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PageParams:
    return PageParams(skip=skip, limit=limit)


Page = Annotated[PageParams, Depends(_page_params)]
