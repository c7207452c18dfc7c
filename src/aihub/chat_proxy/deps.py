"""Who calls the proxy: the gateway caller (gateway key or JWT) and its user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from aihub.core.deps import DbSession
from aihub.gateway.caller import Caller
from aihub.gateway.deps import GatewayCaller
from aihub.users import service as users_service
from aihub.users.models import User


@dataclass(frozen=True, slots=True)
class Principal:
    caller: Caller
    user: User


async def _principal(caller: GatewayCaller, session: DbSession) -> Principal:
    user = await users_service.get_user(session, user_id=caller.user_id)
    return Principal(caller, user)


ProxyCaller = Annotated[Principal, Depends(_principal)]
