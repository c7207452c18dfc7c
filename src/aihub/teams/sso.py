"""Team memberships that follow a person's single sign-on groups.

A team names groups in ``sso_groups`` (members) and ``sso_owner_groups``
(owners). An entry ``"<provider>:<group>"``, where ``<provider>`` is the name
of a configured sign-in provider (``keycloak``, ``github``...), matches that
group from that provider only; any other entry matches a group of exactly that
name from any provider.

At each SSO sign-in, with the groups every linked provider sent at its last
sign-in, the person is added to each team whose groups match (``source`` =
``sso``), re-roled where the match changed, and removed from the teams SSO
added them to whose groups they no longer have. A membership made by hand
(``manual``) is never changed or removed here. Every change is audited with
the reused ``team.member.*`` actions, the person as actor, ``via: sso``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit import service as audit_service
from aihub.audit.service import AuditContext
from aihub.teams import repository
from aihub.teams.models import SOURCE_SSO, TEAM_MEMBER, TEAM_OWNER
from aihub.users.models import User

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class MembershipChange:
    team_id: int
    action: str  # team.member.add | team.member.update | team.member.remove
    role: str | None


def matching(
    entries: Sequence[str],
    groups: Mapping[str, Collection[str]],
    *,
    providers: Collection[str],
) -> list[str]:
    """The entries that the groups (by provider name) match."""
    hits = []
    for entry in entries:
        prefix, colon, group = entry.partition(":")
        if colon and prefix in providers:
            found = group in groups.get(prefix, ())
        else:
            found = any(entry in sent for sent in groups.values())
        if found:
            hits.append(entry)
    return hits


def _role_for(
    groups: Mapping[str, Collection[str]],
    members: Sequence[str],
    owners: Sequence[str],
    providers: Collection[str],
) -> tuple[str | None, list[str]]:
    """The role the groups give in a team (owner over member), and why."""
    owned = matching(owners, groups, providers=providers)
    if owned:
        return TEAM_OWNER, owned
    joined = matching(members, groups, providers=providers)
    return (TEAM_MEMBER, joined) if joined else (None, [])


async def sync_memberships(
    session: AsyncSession,
    *,
    user: User,
    groups: Mapping[str, Collection[str]],
    providers: Collection[str],
    audit: AuditContext | None = None,
) -> list[MembershipChange]:
    """Make the user's SSO memberships match their groups; the caller commits
    (then announces the change, when any, so team keys follow at once).

    ``groups``: the groups by provider name, of configured providers only;
    ``providers``: every configured provider's name."""
    mine = {
        m.team_id: m
        for m in await repository.list_memberships(session, user_id=user.id)
    }
    wanted: dict[int, tuple[str, list[str]]] = {}
    for team_id, members, owners in await repository.list_sso_mappings(session):
        role, why = _role_for(groups, members, owners, providers)
        if role is not None:
            wanted[team_id] = (role, why)
    changes: list[MembershipChange] = []
    for team_id, (role, why) in wanted.items():
        member = mine.get(team_id)
        if member is None:
            repository.add_member(
                session, team_id=team_id, user_id=user.id, role=role, source=SOURCE_SSO
            )
            changes.append(MembershipChange(team_id, "team.member.add", role))
        elif member.source == SOURCE_SSO and member.role != role:
            member.role = role
            changes.append(MembershipChange(team_id, "team.member.update", role))
        else:
            continue
        _record(session, user, audit, changes[-1], groups=why)
    for team_id, member in mine.items():
        if member.source == SOURCE_SSO and team_id not in wanted:
            # Even a team's last owner: access follows the directory (an
            # administrator still manages the team).
            await repository.delete_member(session, member=member)
            changes.append(MembershipChange(team_id, "team.member.remove", None))
            _record(session, user, audit, changes[-1], groups=[])
    if changes:
        log.info(
            "team_memberships_synced",
            user_id=user.id,
            changes=[(c.team_id, c.action, c.role) for c in changes],
        )
    return changes


def _record(
    session: AsyncSession,
    user: User,
    audit: AuditContext | None,
    change: MembershipChange,
    *,
    groups: list[str],
) -> None:
    detail: dict[str, object] = {"user_id": user.id, "via": "sso"}
    if change.role is not None:
        detail |= {"role": change.role, "groups": groups}
    audit_service.record(
        session,
        action=change.action,
        actor_id=user.id,
        context=audit,
        target_type="team",
        target_id=change.team_id,
        detail=detail,
    )
