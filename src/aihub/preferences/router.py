"""/api/models/preferences: the caller's model settings (seed 003, section
"Настройки моделей"). GET /api/models/available belongs to the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Response

from aihub.auth.deps import CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.preferences import service
from aihub.preferences.models import ModelPreference
from aihub.preferences.schemas import (
    PreferenceCreate,
    PreferenceRead,
    PreferenceUpdate,
)

router = APIRouter(prefix="/api/models", tags=["models"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_AUTH: dict[int | str, dict[str, Any]] = {401: _ERROR}
_ONE: dict[int | str, dict[str, Any]] = {401: _ERROR, 404: _ERROR}


@router.get(
    "/preferences",
    response_model=list[PreferenceRead],
    responses=_AUTH,
    summary="List model preferences",
    description="The caller's preferences ordered by id; skip/limit.",
)
async def list_preferences(
    user: CurrentUser, session: DbSession, page: Page
) -> Sequence[ModelPreference]:
    return await service.list_preferences(
        session, user=user, skip=page.skip, limit=page.limit
    )


@router.get(
    "/preferences/default",
    response_model=dict[str, PreferenceRead],
    responses=_AUTH,
    summary="The default preference of each provider",
    description="An object keyed by provider; {} when there is none.",
)
async def default_preferences(
    user: CurrentUser, session: DbSession
) -> dict[str, ModelPreference]:
    return await service.default_preferences(session, user=user)


@router.post(
    "/preferences",
    status_code=201,
    response_model=PreferenceRead,
    responses=_AUTH,
    summary="Create a model preference",
    description="is_default true clears it on the caller's others of the provider.",
)
async def create_preference(
    body: PreferenceCreate, user: CurrentUser, session: DbSession
) -> ModelPreference:
    return await service.create_preference(session, user=user, data=body)


@router.get(
    "/preferences/{preferences_id}",
    response_model=PreferenceRead,
    responses=_ONE,
    summary="One model preference",
)
async def get_preference(
    preferences_id: IdPath, user: CurrentUser, session: DbSession
) -> ModelPreference:
    return await service.get_preference(
        session, user=user, preference_id=preferences_id
    )


@router.put(
    "/preferences/{preferences_id}",
    response_model=PreferenceRead,
    responses=_ONE,
    summary="Update a model preference",
    description="Partial: only the fields sent change.",
)
async def update_preference(
    preferences_id: IdPath,
    body: PreferenceUpdate,
    user: CurrentUser,
    session: DbSession,
) -> ModelPreference:
    return await service.update_preference(
        session, user=user, preference_id=preferences_id, data=body
    )


@router.delete(
    "/preferences/{preferences_id}",
    status_code=204,
    responses=_ONE,
    summary="Delete a model preference",
)
async def delete_preference(
    preferences_id: IdPath, user: CurrentUser, session: DbSession
) -> Response:
    await service.delete_preference(session, user=user, preference_id=preferences_id)
    return Response(status_code=204)
