"""Gateway keys on the wire (/api/gateway-keys/). The key itself appears once,
in ``key`` of the answer to POST; afterwards only its prefix."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from aihub.core.ids import Id

NAME_MAX = 200
MODEL_MAX = 200
MODELS_MAX = 500
RPM_MAX = 100_000_000
TPM_MAX = 2_000_000_000
BUDGET_MAX = 1_000_000_000.0


def _check_text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    if any(ord(ch) < 32 or ch == "\x7f" for ch in value):
        raise ValueError("must not contain control characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _check_models(value: list[str] | None) -> list[str]:
    """None or [] means every model; duplicates are dropped, order kept."""
    return list(dict.fromkeys(value or ()))


def _check_budget(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _check_expiry(value: datetime | None) -> datetime | None:
    """Aware UTC (a naive time is read as UTC), and in the future."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value <= datetime.now(UTC):
        raise ValueError("must be in the future")
    return value


Name = Annotated[str, Field(max_length=NAME_MAX), AfterValidator(_check_text)]
ModelName = Annotated[
    str, Field(min_length=1, max_length=MODEL_MAX), AfterValidator(_check_text)
]
Models = Annotated[list[ModelName] | None, Field(max_length=MODELS_MAX)]
Rpm = Annotated[int, Field(ge=1, le=RPM_MAX)]
Tpm = Annotated[int, Field(ge=1, le=TPM_MAX)]
Budget = Annotated[float, Field(ge=0, le=BUDGET_MAX)]


class GatewayKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    models: Models = None
    rpm: Rpm | None = None
    tpm: Tpm | None = None
    budget_usd: Budget | None = None
    expires_at: datetime | None = None
    team_id: Id | None = None
    """A team key: billed to the team, held to its limits (owners, admins)."""

    valid_models = field_validator("models")(_check_models)
    valid_budget = field_validator("budget_usd")(_check_budget)
    valid_expiry = field_validator("expires_at")(_check_expiry)


class GatewayKeyUpdate(BaseModel):
    """All optional. A null clears models (all allowed), rpm, tpm, budget_usd and
    expires_at; a null name is ignored (a key always has a name)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    models: Models = None
    rpm: Rpm | None = None
    tpm: Tpm | None = None
    budget_usd: Budget | None = None
    expires_at: datetime | None = None

    valid_models = field_validator("models")(_check_models)
    valid_budget = field_validator("budget_usd")(_check_budget)
    valid_expiry = field_validator("expires_at")(_check_expiry)


class GatewayKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    team_id: int | None = None
    key_prefix: str
    models: list[str]
    rpm: int | None
    tpm: int | None
    budget_usd: float | None
    spend_usd: float
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class GatewayKeyCreated(GatewayKeyRead):
    key: str
    """The full key: shown in this answer only."""
