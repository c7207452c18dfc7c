"""Saved prompts with {variables}.

A prompt's category must be one of the caller's own (another user's or an
unknown one is 404 naming it). Lists are newest-updated first. Rendering fills
every variable or names each one left unfilled (422 validation_error); extra
values are ignored."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.categories import service as categories_service
from aihub.prompts import repository, templates
from aihub.prompts.errors import (
    PromptNotFoundError,
    PromptRenderTooLongError,
    PromptVariablesMissingError,
)
from aihub.prompts.models import Prompt
from aihub.prompts.schemas import (
    PromptCreate,
    PromptFilters,
    PromptRendered,
    PromptUpdate,
)
from aihub.users.models import User

log = structlog.get_logger(__name__)

RENDER_MAX = 1_000_000
"""Characters a rendered prompt may have (a short template repeating a long
value must not build an unbounded string)."""

_NOT_NULLABLE = frozenset({"title", "content", "is_favorite"})


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
    filters: PromptFilters | None = None,
) -> Sequence[Prompt]:
    filters = filters or PromptFilters()
    return await repository.list_prompts(
        session,
        user_id=user.id,
        skip=skip,
        limit=limit,
        category_id=filters.category_id,
        is_favorite=filters.is_favorite,
        search=filters.search,
    )


async def create_prompt(
    session: AsyncSession, *, user: User, data: PromptCreate
) -> Prompt:
    if data.category_id is not None:  # raises CategoryNotFoundError
        await categories_service.get_category(
            session, user=user, category_id=data.category_id
        )
    prompt = repository.add_prompt(
        session, Prompt(user_id=user.id, **data.model_dump())
    )
    await session.commit()
    log.info("prompt_created", prompt_id=prompt.id, user_id=user.id)
    return await get_prompt(session, user=user, prompt_id=prompt.id)


async def update_prompt(
    session: AsyncSession, *, user: User, prompt_id: int, data: PromptUpdate
) -> Prompt:
    prompt = await get_prompt(session, user=user, prompt_id=prompt_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("category_id") is not None:  # raises CategoryNotFoundError
        await categories_service.get_category(
            session, user=user, category_id=changes["category_id"]
        )
    for field, value in changes.items():
        if value is None and field in _NOT_NULLABLE:
            continue
        setattr(prompt, field, value)
    await session.commit()
    session.expunge(prompt)  # reload with the (possibly new) category
    return await get_prompt(session, user=user, prompt_id=prompt_id)


async def delete_prompt(session: AsyncSession, *, user: User, prompt_id: int) -> None:
    prompt = await get_prompt(session, user=user, prompt_id=prompt_id)
    await repository.delete_prompt(session, prompt=prompt)
    await session.commit()
    log.info("prompt_deleted", prompt_id=prompt_id, user_id=user.id)


async def render_prompt(
    session: AsyncSession, *, user: User, prompt_id: int, values: Mapping[str, str]
) -> PromptRendered:
    prompt = await get_prompt(session, user=user, prompt_id=prompt_id)
    try:
        text, missing = templates.render(prompt.content, values, max_length=RENDER_MAX)
    except templates.RenderedTooLongError as exc:
        raise PromptRenderTooLongError(
            f"The rendered prompt would exceed {exc.limit} characters"
        ) from None
    if missing:
        raise PromptVariablesMissingError(
            "Variables left unfilled: " + ", ".join(missing),
            details={"missing": missing},
        )
    return PromptRendered(text=text, variables=templates.variables(prompt.content))
