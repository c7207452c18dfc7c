"""Wire shapes of /api/teams and /api/invitations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from aihub.categories.schemas import Label, Text
from aihub.core.ids import Id
from aihub.gateway.keys.schemas import Budget, Models, Rpm, Tpm

TeamRole = Literal["owner", "member"]
MemberSource = Literal["manual", "sso"]
TeamName = Annotated[Label, Field(min_length=1, max_length=200)]
TeamDescription = Annotated[Text, Field(max_length=2000)]
SsoGroup = Annotated[Label, Field(min_length=1, max_length=255)]
SsoGroups = Annotated[list[SsoGroup], Field(max_length=100)]
"""``"group"`` (from any provider) or ``"<provider>:group"`` (from that one)."""


def _unique(value: list[str] | None) -> list[str]:
    """None or [] means every model (or no SSO group); duplicates dropped,
    order kept."""
    return list(dict.fromkeys(value or ()))


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TeamName
    description: TeamDescription | None = None
    models: Models = None
    rpm: Rpm | None = None
    tpm: Tpm | None = None
    budget_usd: Budget | None = None
    """Monthly (calendar month, UTC); None: no budget."""
    sso_groups: SsoGroups | None = None
    """Members of these SSO groups join the team at each sign-in."""
    sso_owner_groups: SsoGroups | None = None
    """Members of these SSO groups join it as owners."""

    valid_models = field_validator("models")(_unique)
    valid_groups = field_validator("sso_groups", "sso_owner_groups")(_unique)


class TeamUpdate(BaseModel):
    """Partial. A null clears description, models (all allowed), rpm, tpm,
    budget_usd and the SSO groups; a null name is ignored. budget_usd,
    sso_groups and sso_owner_groups are an administrator's."""

    model_config = ConfigDict(extra="forbid")

    name: TeamName | None = None
    description: TeamDescription | None = None
    models: Models = None
    rpm: Rpm | None = None
    tpm: Tpm | None = None
    budget_usd: Budget | None = None
    sso_groups: SsoGroups | None = None
    sso_owner_groups: SsoGroups | None = None

    valid_models = field_validator("models")(_unique)
    valid_groups = field_validator("sso_groups", "sso_owner_groups")(_unique)


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    models: list[str]
    rpm: int | None
    tpm: int | None
    budget_usd: float | None
    sso_groups: list[str]
    """Members of these SSO groups join at sign-in (see the README's Teams)."""
    sso_owner_groups: list[str]
    spend_usd: float = 0.0
    """Spent this calendar month (UTC) through the team's gateway keys."""
    role: TeamRole | None = None
    """The caller's role in the team (None: an administrator who is not in it)."""
    created_at: datetime
    updated_at: datetime


class TeamMemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Id
    role: TeamRole = "member"


class TeamMemberUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: TeamRole


class TeamMemberRead(BaseModel):
    team_id: int
    user_id: int
    username: str
    email: str
    role: TeamRole
    source: MemberSource
    """sso: added by single sign-on, which re-roles and removes it to follow
    the person's groups; manual: added by hand, never touched by SSO."""
    created_at: datetime


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    role: TeamRole = "member"
    expires_in_hours: int = Field(default=72, ge=1, le=24 * 30)


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    team_id: int
    email: str
    role: TeamRole
    expires_at: datetime
    accepted_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationRead):
    token: str
    """The one-time token: shown in this answer only."""
    link: str
    """The web app's page that accepts it (relative to the hub's address)."""
