"""Teams, their members and invitations: who may do what.

- an administrator does everything, in every team;
- a team owner edits the team's name, description, models, rpm and tpm (not
  its monthly budget, which the organisation grants, nor the SSO groups that
  fill it: administrators only), adds, re-roles and removes members, and
  invites by email;
- a member reads the team and its member list, and may leave it;
- anyone else gets 404 for the team's id: a team's existence does not leak.
A team always keeps one owner (409 on removing or demoting the last one).
Every mutation of a team lives in this module and in ``sso.py`` (memberships
that single sign-on makes); the audit log hooks in both.

After a change that alters what a team key may do (limits, models, members),
every process drops its cached gateway keys (``KEYS_CHANGED_CHANNEL``)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit import service as audit_service
from aihub.audit.service import AuditContext
from aihub.core.db import utcnow
from aihub.core.errors import NotFoundError
from aihub.infra import Infra
from aihub.infra.errors import BackendUnavailableError
from aihub.teams import repository
from aihub.teams.errors import (
    InvitationEmailMismatchError,
    InvitationExpiredError,
    InvitationNotFoundError,
    InvitationUsedError,
    LastOwnerError,
    TeamMemberExistsError,
    TeamMemberNotFoundError,
    TeamNameTakenError,
    TeamNotFoundError,
    TeamPermissionError,
)
from aihub.teams.models import (
    SOURCE_MANUAL,
    TEAM_OWNER,
    Team,
    TeamInvitation,
    TeamMember,
)
from aihub.teams.schemas import (
    InvitationCreate,
    TeamCreate,
    TeamMemberCreate,
    TeamMemberRead,
    TeamMemberUpdate,
    TeamRead,
    TeamUpdate,
)
from aihub.usage import service as usage_service
from aihub.users import service as users_service
from aihub.users.models import User

log = structlog.get_logger(__name__)

KEYS_CHANGED_CHANNEL = "gateway_keys.changed"
"""The gateway key caches' channel (gateway.keys.service.CHANGED_CHANNEL)."""
INVITE_PATH = "/invitations/"
_CLEARABLE = frozenset({"description", "rpm", "tpm", "budget_usd"})
_LISTS = frozenset({"models", "sso_groups", "sso_owner_groups"})
"""A null clears these to [] (for models: every model allowed)."""
_ADMIN_ONLY = frozenset({"budget_usd", "sso_groups", "sso_owner_groups"})


@dataclass(frozen=True, slots=True)
class TeamPolicy:
    """What a team allows its keys, and what it spent this month when loaded."""

    id: int
    models: tuple[str, ...]
    rpm: int | None
    tpm: int | None
    budget_usd: float | None
    stored_spend: float


def _audit(
    session: AsyncSession,
    action: str,
    user: User,
    context: AuditContext | None,
    team_id: int,
    detail: dict[str, Any],
) -> None:
    """Every change to a team, its members, budget or invitations is audited."""
    audit_service.record(
        session,
        action=action,
        actor_id=user.id,
        context=context,
        target_type="team",
        target_id=team_id,
        detail=detail,
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- access -------------------------------------------------------------------


async def role_in(session: AsyncSession, *, team_id: int, user: User) -> str | None:
    member = await repository.get_member(session, team_id=team_id, user_id=user.id)
    return member.role if member is not None else None


async def _visible(
    session: AsyncSession, *, user: User, team_id: int
) -> tuple[Team, str | None]:
    """The team and the caller's role; 404 unless a member or an admin."""
    team = await repository.get_team(session, team_id=team_id)
    role = await role_in(session, team_id=team_id, user=user) if team else None
    if team is None or (role is None and not user.is_admin):
        raise TeamNotFoundError(f"Team {team_id} not found")
    return team, role


async def _managed(session: AsyncSession, *, user: User, team_id: int) -> Team:
    """The team when the caller is an admin or its owner (403 for a member)."""
    team, role = await _visible(session, user=user, team_id=team_id)
    if not user.is_admin and role != TEAM_OWNER:
        raise TeamPermissionError
    return team


async def check_member(session: AsyncSession, *, user: User, team_id: int) -> None:
    """Raise TeamNotFoundError unless the user is in the team or an admin."""
    await _visible(session, user=user, team_id=team_id)


async def check_manager(session: AsyncSession, *, user: User, team_id: int) -> None:
    """Raise unless the user owns the team or is an admin (404 / 403)."""
    await _managed(session, user=user, team_id=team_id)


async def is_member(session: AsyncSession, *, user_id: int, team_id: int) -> bool:
    member = await repository.get_member(session, team_id=team_id, user_id=user_id)
    return member is not None


async def team_ids_of(session: AsyncSession, *, user: User) -> list[int]:
    return await repository.team_ids_of(session, user_id=user.id)


async def load_policy(session: AsyncSession, *, team_id: int) -> TeamPolicy | None:
    team = await repository.get_team(session, team_id=team_id)
    if team is None:
        return None
    spend = await usage_service.team_month_spend(session, team_ids=[team.id])
    return TeamPolicy(
        id=team.id,
        models=tuple(team.models or ()),
        rpm=team.rpm,
        tpm=team.tpm,
        budget_usd=team.budget_usd,
        stored_spend=spend.get(team.id, 0.0),
    )


# -- teams --------------------------------------------------------------------


async def _read(
    session: AsyncSession, rows: Sequence[tuple[Team, str | None]]
) -> list[TeamRead]:
    spend = await usage_service.team_month_spend(
        session, team_ids=[team.id for team, _ in rows]
    )
    return [
        TeamRead.model_validate(team).model_copy(
            update={"role": role, "spend_usd": spend.get(team.id, 0.0)}
        )
        for team, role in rows
    ]


async def list_teams(
    session: AsyncSession, *, user: User, skip: int, limit: int
) -> list[TeamRead]:
    """An admin sees every team; anyone else the teams they are in."""
    rows = await repository.list_teams(
        session, member_id=None if user.is_admin else user.id, skip=skip, limit=limit
    )
    if user.is_admin:  # the admin's own role where they are a member
        mine = {t for t in await repository.team_ids_of(session, user_id=user.id)}
        rows = [
            (team, await role_in(session, team_id=team.id, user=user))
            if team.id in mine
            else (team, None)
            for team, _ in rows
        ]
    return await _read(session, rows)


async def get_team(session: AsyncSession, *, user: User, team_id: int) -> TeamRead:
    team, role = await _visible(session, user=user, team_id=team_id)
    return (await _read(session, [(team, role)]))[0]


async def _check_name_free(
    session: AsyncSession, *, name: str, team_id: int | None
) -> None:
    other = await repository.get_team_by_name(session, name=name)
    if other is not None and other.id != team_id:
        raise TeamNameTakenError(f'A team named "{other.name}" exists')


async def create_team(
    session: AsyncSession,
    *,
    user: User,
    data: TeamCreate,
    audit: AuditContext | None = None,
) -> TeamRead:
    """Administrators only (enforced by the role policy and here)."""
    if not user.is_admin:
        raise TeamPermissionError("Only an administrator creates teams")
    await _check_name_free(session, name=data.name, team_id=None)
    fields = data.model_dump()
    for field in _LISTS:
        fields[field] = list(fields[field] or ())
    team = repository.add_team(session, **fields)
    try:
        await session.flush()
        _audit(session, "team.create", user, audit, team.id, {"name": team.name})
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise TeamNameTakenError from None
    log.info("team_created", team_id=team.id, by=user.id)
    return (await _read(session, [(team, None)]))[0]


async def update_team(
    session: AsyncSession,
    *,
    user: User,
    team_id: int,
    data: TeamUpdate,
    infra: Infra,
    audit: AuditContext | None = None,
) -> TeamRead:
    team = await _managed(session, user=user, team_id=team_id)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if not user.is_admin and _ADMIN_ONLY & changes.keys():
        raise TeamPermissionError(
            "Only an administrator changes a team's budget or SSO groups"
        )
    if changes.get("name") is not None:
        await _check_name_free(session, name=changes["name"], team_id=team.id)
    for field in _LISTS & changes.keys():
        changes[field] = list(changes[field] or ())
    for field, value in changes.items():
        if value is None and field not in _CLEARABLE:
            continue
        setattr(team, field, value)
    _audit(session, "team.update", user, audit, team.id, changes)
    await session.commit()
    log.info("team_updated", team_id=team.id, by=user.id, fields=sorted(changes))
    await announce(infra)
    role = await role_in(session, team_id=team.id, user=user)
    return (await _read(session, [(team, role)]))[0]


async def delete_team(
    session: AsyncSession,
    *,
    user: User,
    team_id: int,
    infra: Infra,
    audit: AuditContext | None = None,
) -> None:
    """Administrators only; the team's keys go with it (ON DELETE CASCADE)."""
    team, _ = await _visible(session, user=user, team_id=team_id)
    if not user.is_admin:
        raise TeamPermissionError("Only an administrator deletes teams")
    await repository.delete_team(session, team=team)
    _audit(session, "team.delete", user, audit, team_id, {"name": team.name})
    await session.commit()
    log.info("team_deleted", team_id=team_id, by=user.id)
    await announce(infra)


async def announce(infra: Infra) -> None:
    """Every process drops its cached gateway keys (team limits live there)."""
    try:
        await infra.events.publish(KEYS_CHANGED_CHANNEL, {"all": True})
    except BackendUnavailableError:
        log.warning("team_change_not_announced")


# -- members ------------------------------------------------------------------


def _member_read(member: TeamMember, user: User) -> TeamMemberRead:
    return TeamMemberRead(
        team_id=member.team_id,
        user_id=user.id,
        username=user.username,
        email=user.email,
        role=member.role,
        source=member.source,
        created_at=member.created_at,
    )


async def list_members(
    session: AsyncSession, *, user: User, team_id: int, skip: int, limit: int
) -> list[TeamMemberRead]:
    await _visible(session, user=user, team_id=team_id)
    rows = await repository.list_members(
        session, team_id=team_id, skip=skip, limit=limit
    )
    return [_member_read(member, person) for member, person in rows]


async def add_member(
    session: AsyncSession,
    *,
    user: User,
    team_id: int,
    data: TeamMemberCreate,
    audit: AuditContext | None = None,
) -> TeamMemberRead:
    await _managed(session, user=user, team_id=team_id)
    try:
        person = await users_service.get_user(session, user_id=data.user_id)
    except NotFoundError:
        raise TeamMemberNotFoundError(f"User {data.user_id} not found") from None
    if await repository.get_member(session, team_id=team_id, user_id=person.id):
        raise TeamMemberExistsError
    member = repository.add_member(
        session, team_id=team_id, user_id=person.id, role=data.role
    )
    detail = {"user_id": person.id, "role": data.role}
    _audit(session, "team.member.add", user, audit, team_id, detail)
    try:
        await session.commit()
    except IntegrityError:  # added by a concurrent request
        await session.rollback()
        raise TeamMemberExistsError from None
    log.info("team_member_added", team_id=team_id, user_id=person.id, by=user.id)
    return _member_read(member, person)


async def _member(session: AsyncSession, *, team_id: int, user_id: int) -> TeamMember:
    member = await repository.get_member(session, team_id=team_id, user_id=user_id)
    if member is None:
        raise TeamMemberNotFoundError
    return member


async def _keep_an_owner(session: AsyncSession, *, member: TeamMember) -> None:
    if (
        member.role == TEAM_OWNER
        and await repository.count_owners(session, team_id=member.team_id) <= 1
    ):
        raise LastOwnerError


async def update_member(
    session: AsyncSession,
    *,
    user: User,
    team_id: int,
    user_id: int,
    data: TeamMemberUpdate,
    infra: Infra,
    audit: AuditContext | None = None,
) -> TeamMemberRead:
    await _managed(session, user=user, team_id=team_id)
    member = await _member(session, team_id=team_id, user_id=user_id)
    if member.role != data.role:
        await _keep_an_owner(session, member=member)
        member.role = data.role
        detail = {"user_id": user_id, "role": data.role}
        _audit(session, "team.member.update", user, audit, team_id, detail)
        await session.commit()
        log.info("team_member_updated", team_id=team_id, user_id=user_id, by=user.id)
        await announce(infra)
    person = await users_service.get_user(session, user_id=user_id)
    return _member_read(member, person)


async def remove_member(
    session: AsyncSession,
    *,
    user: User,
    team_id: int,
    user_id: int,
    infra: Infra,
    audit: AuditContext | None = None,
) -> None:
    """An owner or admin removes anyone; a member may remove only themselves."""
    _, role = await _visible(session, user=user, team_id=team_id)
    if user_id != user.id and not user.is_admin and role != TEAM_OWNER:
        raise TeamPermissionError
    member = await _member(session, team_id=team_id, user_id=user_id)
    await _keep_an_owner(session, member=member)
    await repository.delete_member(session, member=member)
    detail = {"user_id": user_id}
    _audit(session, "team.member.remove", user, audit, team_id, detail)
    await session.commit()
    log.info("team_member_removed", team_id=team_id, user_id=user_id, by=user.id)
    await announce(infra)  # their team keys stop working at once


# -- invitations --------------------------------------------------------------


async def create_invitation(
    session: AsyncSession,
    *,
    user: User,
    team_id: int,
    data: InvitationCreate,
    audit: AuditContext | None = None,
) -> tuple[TeamInvitation, str]:
    """The stored invitation and its token (returned once, stored hashed)."""
    await _managed(session, user=user, team_id=team_id)
    token = secrets.token_urlsafe(32)
    invitation = repository.add_invitation(
        session,
        team_id=team_id,
        email=str(data.email).lower(),
        role=data.role,
        token_hash=hash_token(token),
        invited_by=user.id,
        expires_at=utcnow() + timedelta(hours=data.expires_in_hours),
    )
    detail = {"email": invitation.email, "role": data.role}
    _audit(session, "team.invitation.create", user, audit, team_id, detail)
    await session.commit()
    log.info("team_invitation_created", team_id=team_id, invitation_id=invitation.id)
    return invitation, token


async def _open_invitation(session: AsyncSession, *, token: str) -> TeamInvitation:
    invitation = await repository.get_invitation_by_hash(
        session, token_hash=hash_token(token), for_update=True
    )
    if invitation is None:
        raise InvitationNotFoundError
    if invitation.accepted_at is not None:
        raise InvitationUsedError
    if invitation.expires_at <= utcnow():
        raise InvitationExpiredError
    return invitation


async def check_invitation(session: AsyncSession, *, token: str, email: str) -> None:
    """Raise unless the token is open and addressed to ``email`` (register)."""
    invitation = await _open_invitation(session, token=token)
    if invitation.email != email.lower():
        raise InvitationEmailMismatchError


async def accept_invitation(
    session: AsyncSession,
    *,
    user: User,
    token: str,
    audit: AuditContext | None = None,
) -> TeamMemberRead:
    """The signed-in user whose email the invitation names joins with its role
    (an existing member takes the invited role if it is higher)."""
    invitation = await _open_invitation(session, token=token)
    if invitation.email != user.email.lower():
        raise InvitationEmailMismatchError
    member = await repository.get_member(
        session, team_id=invitation.team_id, user_id=user.id
    )
    if member is None:
        member = repository.add_member(
            session, team_id=invitation.team_id, user_id=user.id, role=invitation.role
        )
    else:
        if invitation.role == TEAM_OWNER:
            member.role = TEAM_OWNER
        member.source = SOURCE_MANUAL  # invited by hand: SSO leaves it alone
    invitation.accepted_at = utcnow()
    invitation.accepted_by = user.id
    detail = {"role": member.role}
    _audit(session, "team.invitation.accept", user, audit, invitation.team_id, detail)
    try:
        await session.commit()
    except IntegrityError:  # the same invitation, or a join, raced this one
        await session.rollback()
        raise InvitationUsedError from None
    log.info("team_invitation_accepted", team_id=invitation.team_id, user_id=user.id)
    return _member_read(member, user)
