"""Every query on teams, team_members and team_invitations; never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.teams.models import SOURCE_MANUAL, Team, TeamInvitation, TeamMember
from aihub.users.models import User


async def get_team(session: AsyncSession, *, team_id: int) -> Team | None:
    return await session.get(Team, team_id)


async def get_team_by_name(session: AsyncSession, *, name: str) -> Team | None:
    stmt = select(Team).where(func.lower(Team.name) == name.lower())
    return await session.scalar(stmt.limit(1))


async def list_teams(
    session: AsyncSession, *, member_id: int | None, skip: int, limit: int
) -> Sequence[tuple[Team, str | None]]:
    """Teams with the member's role in each; every team when member_id is None
    (the role then is None)."""
    if member_id is None:
        rows = await session.scalars(
            select(Team).order_by(Team.id).offset(skip).limit(limit)
        )
        return [(team, None) for team in rows]
    stmt = (
        select(Team, TeamMember.role)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == member_id)
        .order_by(Team.id)
        .offset(skip)
        .limit(limit)
    )
    return [(team, role) for team, role in (await session.execute(stmt)).all()]


def add_team(session: AsyncSession, **fields: object) -> Team:
    team = Team(**fields)
    session.add(team)
    return team


async def delete_team(session: AsyncSession, *, team: Team) -> None:
    await session.delete(team)


async def get_member(
    session: AsyncSession, *, team_id: int, user_id: int
) -> TeamMember | None:
    stmt = select(TeamMember).where(
        TeamMember.team_id == team_id, TeamMember.user_id == user_id
    )
    return await session.scalar(stmt)


async def list_members(
    session: AsyncSession, *, team_id: int, skip: int, limit: int
) -> Sequence[tuple[TeamMember, User]]:
    stmt = (
        select(TeamMember, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team_id)
        .order_by(TeamMember.user_id)
        .offset(skip)
        .limit(limit)
    )
    return [(m, u) for m, u in (await session.execute(stmt)).all()]


async def count_owners(session: AsyncSession, *, team_id: int) -> int:
    stmt = select(func.count()).where(
        TeamMember.team_id == team_id, TeamMember.role == "owner"
    )
    return int(await session.scalar(stmt) or 0)


def add_member(
    session: AsyncSession,
    *,
    team_id: int,
    user_id: int,
    role: str,
    source: str = SOURCE_MANUAL,
) -> TeamMember:
    member = TeamMember(team_id=team_id, user_id=user_id, role=role, source=source)
    session.add(member)
    return member


async def delete_member(session: AsyncSession, *, member: TeamMember) -> None:
    await session.delete(member)


async def list_memberships(
    session: AsyncSession, *, user_id: int
) -> Sequence[TeamMember]:
    stmt = (
        select(TeamMember)
        .where(TeamMember.user_id == user_id)
        .order_by(TeamMember.team_id)
    )
    return (await session.scalars(stmt)).all()


async def list_sso_mappings(
    session: AsyncSession,
) -> list[tuple[int, list[str], list[str]]]:
    """(team id, sso_groups, sso_owner_groups) of every team that names a
    group. Teams are few (an organisation's), so the filter runs here rather
    than in JSON SQL that differs between SQLite and PostgreSQL."""
    stmt = select(Team.id, Team.sso_groups, Team.sso_owner_groups).order_by(Team.id)
    return [
        (team_id, list(groups or ()), list(owners or ()))
        for team_id, groups, owners in (await session.execute(stmt)).all()
        if groups or owners
    ]


async def team_ids_of(session: AsyncSession, *, user_id: int) -> list[int]:
    stmt = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    return list(await session.scalars(stmt))


def add_invitation(
    session: AsyncSession,
    *,
    team_id: int,
    email: str,
    role: str,
    token_hash: str,
    invited_by: int,
    expires_at: datetime,
) -> TeamInvitation:
    invitation = TeamInvitation(
        team_id=team_id,
        email=email,
        role=role,
        token_hash=token_hash,
        invited_by=invited_by,
        expires_at=expires_at,
    )
    session.add(invitation)
    return invitation


async def get_invitation_by_hash(
    session: AsyncSession, *, token_hash: str, for_update: bool = False
) -> TeamInvitation | None:
    stmt = select(TeamInvitation).where(TeamInvitation.token_hash == token_hash)
    if for_update:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)
