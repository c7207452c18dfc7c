"""Teams: members with a role, the team's limits, and invitations by email."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aihub.core.db import Base, TimestampMixin, utcnow

TEAM_OWNER = "owner"
TEAM_MEMBER = "member"
TEAM_ROLES = (TEAM_OWNER, TEAM_MEMBER)
SOURCE_MANUAL = "manual"
"""Added by hand (an administrator, an owner, an accepted invitation)."""
SOURCE_SSO = "sso"
"""Added by a sign-in whose groups match the team's ``sso_groups``."""


class Team(TimestampMixin, Base):
    """A group of users sharing allowed models, rpm/tpm limits and a monthly
    budget in USD (None: no limit). Calls through the team's gateway keys are
    billed to it."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(2000), default=None)
    models: Mapped[list[str]] = mapped_column(JSON, default=list)
    rpm: Mapped[int | None] = mapped_column(Integer, default=None)
    tpm: Mapped[int | None] = mapped_column(Integer, default=None)
    budget_usd: Mapped[float | None] = mapped_column(Float, default=None)
    # SSO groups whose people belong to the team ("group" from any provider,
    # "<provider>:group" from that one): see aihub.teams.sso.
    sso_groups: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    sso_owner_groups: Mapped[list[str]] = mapped_column(
        JSON, default=list, server_default="[]"
    )


class TeamMember(TimestampMixin, Base):
    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", name="uq_team_members_team_user"),
        Index("ix_team_members_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16), default=TEAM_MEMBER)
    source: Mapped[str] = mapped_column(
        String(8), default=SOURCE_MANUAL, server_default=SOURCE_MANUAL
    )
    """manual or sso: single sign-on changes and removes only its own."""


class TeamInvitation(Base):
    """A one-time invitation: only the SHA-256 of its token is kept."""

    __tablename__ = "team_invitations"
    __table_args__ = (Index("ix_team_invitations_team_id", "team_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16), default=TEAM_MEMBER)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    accepted_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
