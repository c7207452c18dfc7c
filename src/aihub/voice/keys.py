"""A gateway key's policy on voice sessions, as the gateway applies it.

A session made with a gateway key (Bearer ahk-...) is bound to it: creating
the session checks the key's ``models`` (the session's model, as ``model`` or
``provider/model``, exactly or as a glob) and ``budget_usd``; every turn checks
them again with ``tpm`` and ``rpm`` (``limits.check_request``), and its cost
and tokens are charged to the key like a gateway call (``limits.record_usage``:
the shared spend ledger, shown by GET /api/gateway-keys/).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.chat.llm import Target
from aihub.gateway.caller import Caller, KeyPolicy
from aihub.gateway.keys import service as keys_service
from aihub.gateway.keys.errors import ModelNotAllowedError
from aihub.gateway.keys.runtime import runtime_of
from aihub.gateway.limits import check_request, model_allowed, record_usage
from aihub.users import service as users_service
from aihub.voice.errors import VoiceTokenInvalidError


def check_model(policy: KeyPolicy, target: Target) -> None:
    if not (
        model_allowed(policy, target.model)
        or model_allowed(policy, f"{target.provider}/{target.model}")
    ):
        raise ModelNotAllowedError(
            f"Model {target.model!r} is not allowed for this key"
        )


async def check_session(app_state: Any, caller: Caller, target: Target) -> None:
    """May the key start a session on ``target``: its models and budget (no
    request of its rpm window is used)."""
    policy = caller.key
    if policy is None:
        return
    check_model(policy, target)
    unlimited = dataclasses.replace(policy, models=(), rpm=None, tpm=None)
    await check_request(
        app_state, dataclasses.replace(caller, key=unlimited), "", 0, admit=False
    )


async def check_turn(
    app_state: Any, caller: Caller, target: Target, estimated_tokens: int
) -> None:
    """May the key make this turn's model call now: models, budget, tpm, rpm."""
    policy = caller.key
    if policy is None:
        return
    check_model(policy, target)
    anymodel = dataclasses.replace(policy, models=())
    await check_request(
        app_state, dataclasses.replace(caller, key=anymodel), "", estimated_tokens
    )


async def charge(app_state: Any, caller: Caller, *, tokens: int, cost: float) -> None:
    await record_usage(app_state, caller, tokens, cost)


async def load_policy(
    session: AsyncSession, app_state: Any, *, user_id: int, key_id: int
) -> KeyPolicy:
    """The key's policy as it is now, for a socket of a session made with it
    (refused when the key was revoked or has expired); seeds its spend."""
    key = await keys_service.find_usable_key(session, user_id=user_id, key_id=key_id)
    if key is None:
        raise VoiceTokenInvalidError("The gateway key of this session is not valid")
    runtime = await runtime_of(app_state)
    await runtime.spend.seed(key.id, key.spend_usd)
    team = None
    if key.team_id is not None:  # a team key: its team's limits hold too
        owner = await users_service.get_user(session, user_id=user_id)
        loaded = await keys_service.team_of_key(session, key=key, owner=owner)
        if loaded is None:
            raise VoiceTokenInvalidError("The gateway key of this session is not valid")
        team, team_spend = loaded
        await runtime.teams.seed(team.id, team_spend)
    return KeyPolicy(
        id=key.id,
        name=key.name,
        models=tuple(key.models or ()),
        rpm=key.rpm,
        tpm=key.tpm,
        budget_usd=key.budget_usd,
        team=team,
    )
