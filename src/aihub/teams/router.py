"""/api/teams and /api/invitations: teams, their members and invitations.

Who may call what is in service.py's docstring (admin, team owner, member;
anyone else gets 404 for a team id)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from aihub.audit.deps import Audit
from aihub.auth.deps import CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath
from aihub.core.pagination import Page
from aihub.teams import service
from aihub.teams.deps import AppInfra
from aihub.teams.schemas import (
    InvitationCreate,
    InvitationCreated,
    InvitationRead,
    TeamCreate,
    TeamMemberCreate,
    TeamMemberRead,
    TeamMemberUpdate,
    TeamRead,
    TeamUpdate,
)

router = APIRouter(prefix="/api/teams", tags=["teams"])
invitations_router = APIRouter(prefix="/api/invitations", tags=["teams"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_AUTH: dict[int | str, dict[str, Any]] = {401: _ERROR, 403: _ERROR}
_ONE: dict[int | str, dict[str, Any]] = {401: _ERROR, 403: _ERROR, 404: _ERROR}
_EDIT: dict[int | str, dict[str, Any]] = {**_ONE, 409: _ERROR}


@router.get(
    "/",
    response_model=list[TeamRead],
    responses=_AUTH,
    summary="List teams",
    description="Your teams (an administrator: every team), by id.",
)
async def list_teams(user: CurrentUser, session: DbSession, page: Page) -> Any:
    return await service.list_teams(
        session, user=user, skip=page.skip, limit=page.limit
    )


@router.post(
    "/",
    status_code=201,
    response_model=TeamRead,
    responses={**_AUTH, 409: _ERROR},
    summary="Create a team (administrators)",
)
async def create_team(
    body: TeamCreate, user: CurrentUser, session: DbSession, audit: Audit
) -> Any:
    return await service.create_team(session, user=user, data=body, audit=audit)


@router.get("/{team_id}", response_model=TeamRead, responses=_ONE, summary="One team")
async def get_team(team_id: IdPath, user: CurrentUser, session: DbSession) -> Any:
    return await service.get_team(session, user=user, team_id=team_id)


@router.put(
    "/{team_id}",
    response_model=TeamRead,
    responses=_EDIT,
    summary="Update a team",
    description="Partial. Owners edit all but budget_usd (administrators only).",
)
async def update_team(
    team_id: IdPath,
    body: TeamUpdate,
    user: CurrentUser,
    session: DbSession,
    infra: AppInfra,
    audit: Audit,
) -> Any:
    return await service.update_team(
        session, user=user, team_id=team_id, data=body, infra=infra, audit=audit
    )


@router.delete(
    "/{team_id}",
    status_code=204,
    responses=_ONE,
    summary="Delete a team (administrators)",
    description="Its members, invitations and gateway keys go with it.",
)
async def delete_team(
    team_id: IdPath,
    user: CurrentUser,
    session: DbSession,
    infra: AppInfra,
    audit: Audit,
) -> Response:
    await service.delete_team(
        session, user=user, team_id=team_id, infra=infra, audit=audit
    )
    return Response(status_code=204)


@router.get(
    "/{team_id}/members",
    response_model=list[TeamMemberRead],
    responses=_ONE,
    summary="The team's members",
)
async def list_members(
    team_id: IdPath, user: CurrentUser, session: DbSession, page: Page
) -> Any:
    return await service.list_members(
        session, user=user, team_id=team_id, skip=page.skip, limit=page.limit
    )


@router.post(
    "/{team_id}/members",
    status_code=201,
    response_model=TeamMemberRead,
    responses=_EDIT,
    summary="Add a member (owners, administrators)",
)
async def add_member(
    team_id: IdPath,
    body: TeamMemberCreate,
    user: CurrentUser,
    session: DbSession,
    audit: Audit,
) -> Any:
    return await service.add_member(
        session, user=user, team_id=team_id, data=body, audit=audit
    )


@router.put(
    "/{team_id}/members/{user_id}",
    response_model=TeamMemberRead,
    responses=_EDIT,
    summary="Change a member's role (owners, administrators)",
)
async def update_member(
    team_id: IdPath,
    user_id: IdPath,
    body: TeamMemberUpdate,
    user: CurrentUser,
    session: DbSession,
    infra: AppInfra,
    audit: Audit,
) -> Any:
    return await service.update_member(
        session,
        user=user,
        team_id=team_id,
        user_id=user_id,
        data=body,
        infra=infra,
        audit=audit,
    )


@router.delete(
    "/{team_id}/members/{user_id}",
    status_code=204,
    responses=_EDIT,
    summary="Remove a member (owners, administrators; a member may leave)",
)
async def remove_member(
    team_id: IdPath,
    user_id: IdPath,
    user: CurrentUser,
    session: DbSession,
    infra: AppInfra,
    audit: Audit,
) -> Response:
    await service.remove_member(
        session, user=user, team_id=team_id, user_id=user_id, infra=infra, audit=audit
    )
    return Response(status_code=204)


@router.post(
    "/{team_id}/invitations",
    status_code=201,
    response_model=InvitationCreated,
    responses=_ONE,
    summary="Invite by email (owners, administrators)",
    description="The token is in this answer only; it is stored hashed.",
)
async def create_invitation(
    team_id: IdPath,
    body: InvitationCreate,
    user: CurrentUser,
    session: DbSession,
    audit: Audit,
) -> InvitationCreated:
    invitation, token = await service.create_invitation(
        session, user=user, team_id=team_id, data=body, audit=audit
    )
    return InvitationCreated(
        **InvitationRead.model_validate(invitation).model_dump(),
        token=token,
        link=service.INVITE_PATH + token,
    )


@invitations_router.post(
    "/{token}/accept",
    response_model=TeamMemberRead,
    responses={**_ONE, 409: _ERROR, 410: _ERROR},
    summary="Accept an invitation",
    description=(
        "The signed-in user whose email the invitation names joins the team. "
        "404 unknown token, 409 already used, 410 expired, 403 another email."
    ),
)
async def accept_invitation(
    token: Annotated[str, Path(min_length=1, max_length=200)],
    user: CurrentUser,
    session: DbSession,
    audit: Audit,
) -> Any:
    return await service.accept_invitation(session, user=user, token=token, audit=audit)
