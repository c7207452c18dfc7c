"""Categories organise a user's threads and prompts.

Names are unique per user, compared case-insensitively after trimming ("Work" and
"work " collide): a duplicate is a 409 conflict naming the name. Two users may
use the same name. Lists are ordered by name, then id. Deleting a category
leaves its threads and prompts uncategorised (category_id null, by the foreign
key's ON DELETE SET NULL)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.categories import repository
from aihub.categories.errors import CategoryNameTakenError, CategoryNotFoundError
from aihub.categories.models import Category
from aihub.categories.schemas import CategoryCreate, CategoryUpdate
from aihub.users.models import User

log = structlog.get_logger(__name__)


async def get_category(
    session: AsyncSession, *, user: User, category_id: int
) -> Category:
    category = await repository.get_category(
        session, user_id=user.id, category_id=category_id
    )
    if category is None:
        raise CategoryNotFoundError(f"Category {category_id} not found")
    return category


async def list_categories(
    session: AsyncSession, *, user: User, skip: int, limit: int
) -> Sequence[Category]:
    return await repository.list_categories(
        session, user_id=user.id, skip=skip, limit=limit
    )


async def _check_name_free(
    session: AsyncSession, *, user: User, name: str, category_id: int | None
) -> None:
    other = await repository.get_category_by_name(session, user_id=user.id, name=name)
    if other is not None and other.id != category_id:
        raise CategoryNameTakenError(
            f'You already have a category named "{other.name}"'
        )


async def create_category(
    session: AsyncSession, *, user: User, data: CategoryCreate
) -> Category:
    await _check_name_free(session, user=user, name=data.name, category_id=None)
    category = repository.add_category(
        session,
        user_id=user.id,
        name=data.name,
        description=data.description,
        color=data.color,
    )
    await session.commit()
    log.info("category_created", category_id=category.id, user_id=user.id)
    return category


async def update_category(
    session: AsyncSession, *, user: User, category_id: int, data: CategoryUpdate
) -> Category:
    category = await get_category(session, user=user, category_id=category_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        await _check_name_free(
            session, user=user, name=changes["name"], category_id=category.id
        )
    for field, value in changes.items():
        if field == "name" and value is None:
            continue  # a category always has a name
        setattr(category, field, value)
    await session.commit()
    return category


async def delete_category(
    session: AsyncSession, *, user: User, category_id: int
) -> None:
    category = await get_category(session, user=user, category_id=category_id)
    await repository.delete_category(session, category=category)
    await session.commit()
    log.info("category_deleted", category_id=category_id, user_id=user.id)
