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

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.chat.llm import Target
from aihub.gateway.caller import Caller, KeyPolicy
from aihub.gateway.keys.errors import ModelNotAllowedError
from aihub.gateway.keys.runtime import GatewayRuntime
from aihub.gateway.limits import check_request, model_allowed, record_usage
from aihub.voice.errors import VoiceTokenInvalidError


def check_model(policy: KeyPolicy, target: Target) -> None:
    if not (
        model_allowed(policy, target.model)
        or model_allowed(policy, f"{target.provider}/{target.model}")
    ):
        raise ModelNotAllowedError(
            f"Model {target.model!r} is not allowed for this key"
        )


async def check_session(
    gateway: GatewayRuntime, caller: Caller, target: Target
) -> None:
    """May the key start a session on ``target``: its models and budget (no
    request of its rpm window is used)."""
    policy = caller.key
    if policy is None:
        return
    check_model(policy, target)
    unlimited = dataclasses.replace(policy, models=(), rpm=None, tpm=None)
    await check_request(
        gateway, dataclasses.replace(caller, key=unlimited), "", 0, admit=False
    )


async def check_turn(
    gateway: GatewayRuntime, caller: Caller, target: Target, estimated_tokens: int
) -> None:
    """May the key make this turn's model call now: models, budget, tpm, rpm."""
    policy = caller.key
    if policy is None:
        return
    check_model(policy, target)
    anymodel = dataclasses.replace(policy, models=())
    await check_request(
        gateway, dataclasses.replace(caller, key=anymodel), "", estimated_tokens
    )


async def charge(
    gateway: GatewayRuntime, caller: Caller, *, tokens: int, cost: float
) -> None:
    await record_usage(gateway, caller, tokens, cost)


async def load_policy(
    session: AsyncSession, gateway: GatewayRuntime, *, user_id: int, key_id: int
) -> KeyPolicy:
    """The key's policy as it is now, for a socket of a session made with it
    (refused when the key was revoked or has expired); seeds its spend."""
    policy = await gateway.load_policy(session, user_id=user_id, key_id=key_id)
    if policy is None:
        raise VoiceTokenInvalidError("The gateway key of this session is not valid")
    return policy
