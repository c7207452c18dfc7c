"""Who calls the gateway (/v1, seed 004's /api/chat...): a user, through a
gateway key of theirs or their JWT.

    @router.post("/v1/chat/completions")
    async def chat(caller: GatewayCaller) -> ...:   # aihub.gateway.deps
        caller.user_id, caller.key  # key None for a JWT

The credential is read from ``Authorization: Bearer <token>`` or, as Anthropic's
SDK sends it, ``x-api-key``. Gateway keys start with ``GATEWAY_KEY_PREFIX``;
anything else is tried as a JWT.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

GATEWAY_KEY_PREFIX = "ahk-"


@dataclass(frozen=True, slots=True)
class TeamLimits:
    """What the team of a team key allows: models (empty: all), limits and a
    monthly budget. Checked on top of the key's own."""

    id: int
    models: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """What a gateway key allows: models (empty: all), limits and budget."""

    id: int
    name: str
    models: tuple[str, ...] = ()
    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    team: TeamLimits | None = None
    """Set for a team key: the call is billed to that team."""


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    is_admin: bool = False
    key: KeyPolicy | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def gateway_key_id(self) -> int | None:
        return self.key.id if self.key is not None else None


def credential_of(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    api_key = request.headers.get("x-api-key")
    return api_key.strip() if api_key and api_key.strip() else None
