"""Model preferences: a user's settings per model, at most one default per
provider. Setting is_default on one (on create, on update, or by moving a
default to another provider) clears it on the user's others of that provider in
the same transaction. Deleting the default leaves the provider without one (no
other is promoted). Lists are ordered by id."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.preferences import repository
from aihub.preferences.errors import PreferenceNotFoundError
from aihub.preferences.models import ModelPreference
from aihub.preferences.schemas import PreferenceCreate, PreferenceUpdate
from aihub.users.models import User

log = structlog.get_logger(__name__)

_NOT_NULLABLE = frozenset({"provider", "model", "is_default"})


async def get_preference(
    session: AsyncSession, *, user: User, preference_id: int
) -> ModelPreference:
    preference = await repository.get_preference(
        session, user_id=user.id, preference_id=preference_id
    )
    if preference is None:
        raise PreferenceNotFoundError(f"Model preference {preference_id} not found")
    return preference


async def list_preferences(
    session: AsyncSession, *, user: User, skip: int, limit: int
) -> Sequence[ModelPreference]:
    return await repository.list_preferences(
        session, user_id=user.id, skip=skip, limit=limit
    )


async def default_preferences(
    session: AsyncSession, *, user: User
) -> dict[str, ModelPreference]:
    """The default preference of each provider (seed: an object keyed by it).
    Should two ever be marked (concurrent writes), the newest wins."""
    defaults: dict[str, ModelPreference] = {}
    for preference in await repository.list_defaults(session, user_id=user.id):
        defaults.setdefault(preference.provider, preference)
    return defaults


async def default_for(
    session: AsyncSession, *, user: User, provider: str | None = None
) -> ModelPreference | None:
    """The default to chat with: of a provider, or the newest default of any."""
    defaults = await repository.list_defaults(session, user_id=user.id)
    for preference in defaults:
        if provider is None or preference.provider == provider:
            return preference
    return None


async def _settle_default(
    session: AsyncSession, *, user: User, preference: ModelPreference
) -> None:
    await session.flush()
    if preference.is_default:
        await repository.clear_defaults(
            session,
            user_id=user.id,
            provider=preference.provider,
            keep_id=preference.id,
        )


async def create_preference(
    session: AsyncSession, *, user: User, data: PreferenceCreate
) -> ModelPreference:
    preference = ModelPreference(user_id=user.id, **data.model_dump())
    repository.add_preference(session, preference)
    await _settle_default(session, user=user, preference=preference)
    await session.commit()
    log.info("preference_created", preference_id=preference.id, user_id=user.id)
    return preference


async def update_preference(
    session: AsyncSession, *, user: User, preference_id: int, data: PreferenceUpdate
) -> ModelPreference:
    preference = await get_preference(session, user=user, preference_id=preference_id)
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field in _NOT_NULLABLE:
            continue
        setattr(preference, field, value)
    await _settle_default(session, user=user, preference=preference)
    await session.commit()
    return preference


async def delete_preference(
    session: AsyncSession, *, user: User, preference_id: int
) -> None:
    preference = await get_preference(session, user=user, preference_id=preference_id)
    await repository.delete_preference(session, preference=preference)
    await session.commit()
    log.info("preference_deleted", preference_id=preference_id, user_id=user.id)
