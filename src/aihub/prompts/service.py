"""Saved prompts with {variables}; rendering names every variable left unfilled."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.categories import service as categories_service
from aihub.prompts import repository, templates
from aihub.prompts.errors import PromptNotFoundError, PromptVariablesMissingError
from aihub.prompts.models import Prompt
from aihub.prompts.schemas import PromptCreate, PromptRendered, PromptUpdate
from aihub.users.models import User


async def get_prompt(session: AsyncSession, *, user: User, prompt_id: int) -> Prompt:
    prompt = await repository.get_prompt(session, user_id=user.id, prompt_id=prompt_id)
    if prompt is None:
        raise PromptNotFoundError(f"Prompt {prompt_id} not found")
    return prompt


async def list_prompts(
    session: AsyncSession,
    *,
    user: User,
    skip: int,
    limit: int,
    category_id: int | None = None,
    is_favorite: bool | None = None,
    search: str | None = None,
) -> Sequence[Prompt]:
    return await repository.list_prompts(
        session,
        user_id=user.id,
        skip=skip,
        limit=limit,
        category_id=category_id,
        is_favorite=is_favorite,
        search=search,
    )


async def create_prompt(
    session: AsyncSession, *, user: User, data: PromptCreate
) -> Prompt:
    if data.category_id is not None:
        await categories_service.get_category(
            session, user=user, category_id=data.category_id
        )
    prompt = repository.add_prompt(
        session, Prompt(user_id=user.id, **data.model_dump())
    )
    await session.commit()
    return await get_prompt(session, user=user, prompt_id=prompt.id)


async def update_prompt(
    session: AsyncSession, *, user: User, prompt_id: int, data: PromptUpdate
) -> Prompt:
    prompt = await get_prompt(session, user=user, prompt_id=prompt_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("category_id") is not None:
        await categories_service.get_category(
            session, user=user, category_id=changes["category_id"]
        )
    for field, value in changes.items():
        if value is None and field in ("title", "content", "is_favorite"):
            continue
        setattr(prompt, field, value)
    await session.commit()
    session.expunge(prompt)
    return await get_prompt(session, user=user, prompt_id=prompt_id)


async def delete_prompt(session: AsyncSession, *, user: User, prompt_id: int) -> None:
    prompt = await get_prompt(session, user=user, prompt_id=prompt_id)
    await repository.delete_prompt(session, prompt=prompt)
    await session.commit()


async def render_prompt(
    session: AsyncSession, *, user: User, prompt_id: int, values: dict[str, str]
) -> PromptRendered:
    prompt = await get_prompt(session, user=user, prompt_id=prompt_id)
    text, missing = templates.render(prompt.content, values)
    if missing:
        names = ", ".join(missing)
        raise PromptVariablesMissingError(
            f"Variables left unfilled: {names}", details={"missing": missing}
        )
    return PromptRendered(text=text, variables=templates.variables(prompt.content))
