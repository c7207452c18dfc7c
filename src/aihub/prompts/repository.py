"""Every query on prompts, always filtered by user_id in SQL; never commits.
A prompt is loaded with its category (the read schema nests it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from aihub.prompts.models import Prompt

_LIKE_ESCAPE = "\\"


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match, LIKE wildcards in `text` taken literally
    (lower() folds all of Unicode on SQLite too: core registers it)."""
    escaped = (
        text.lower()
        .replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )
    return func.lower(column).like(f"%{escaped}%", escape=_LIKE_ESCAPE)


def _owned(user_id: int) -> Select[Any]:
    return (
        select(Prompt)
        .where(Prompt.user_id == user_id)
        .options(selectinload(Prompt.category))
    )


async def get_prompt(
    session: AsyncSession, *, user_id: int, prompt_id: int
) -> Prompt | None:
    prompt: Prompt | None = await session.scalar(
        _owned(user_id).where(Prompt.id == prompt_id)
    )
    return prompt


async def list_prompts(
    session: AsyncSession,
    *,
    user_id: int,
    skip: int,
    limit: int,
    category_id: int | None = None,
    is_favorite: bool | None = None,
    search: str | None = None,
) -> Sequence[Prompt]:
    """Most recently updated first, then newest id (ix_prompts_user_id_updated_at)."""
    stmt = _owned(user_id)
    if category_id is not None:
        stmt = stmt.where(Prompt.category_id == category_id)
    if is_favorite is not None:
        stmt = stmt.where(Prompt.is_favorite == is_favorite)
    if search:
        stmt = stmt.where(
            or_(_contains(Prompt.title, search), _contains(Prompt.content, search))
        )
    stmt = stmt.order_by(Prompt.updated_at.desc(), Prompt.id.desc())
    rows = await session.scalars(stmt.offset(skip).limit(limit))
    return rows.all()


def add_prompt(session: AsyncSession, prompt: Prompt) -> Prompt:
    session.add(prompt)
    return prompt


async def delete_prompt(session: AsyncSession, *, prompt: Prompt) -> None:
    await session.delete(prompt)
