from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from aihub.prompts.models import Prompt


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
    category_id: int | None,
    is_favorite: bool | None,
    search: str | None,
) -> Sequence[Prompt]:
    stmt = _owned(user_id)
    if category_id is not None:
        stmt = stmt.where(Prompt.category_id == category_id)
    if is_favorite is not None:
        stmt = stmt.where(Prompt.is_favorite == is_favorite)
    if search:
        pattern = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Prompt.title).like(pattern),
                func.lower(Prompt.content).like(pattern),
            )
        )
    stmt = stmt.order_by(Prompt.updated_at.desc(), Prompt.id.desc())
    rows = await session.scalars(stmt.offset(skip).limit(limit))
    return list(rows.all())


def add_prompt(session: AsyncSession, prompt: Prompt) -> Prompt:
    session.add(prompt)
    return prompt


async def delete_prompt(session: AsyncSession, *, prompt: Prompt) -> None:
    await session.delete(prompt)
