"""Who calls the voice API (a user by JWT, or by a gateway key of theirs), and
the process's voice runtime."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from aihub.core.deps import DbSession
from aihub.gateway.caller import Caller
from aihub.gateway.deps import GatewayCaller
from aihub.runtime import RuntimeDep
from aihub.users import service as users_service
from aihub.users.models import User
from aihub.voice.runtime import VoiceRuntime


@dataclass(frozen=True, slots=True)
class VoicePrincipal:
    caller: Caller
    user: User


async def _principal(caller: GatewayCaller, session: DbSession) -> VoicePrincipal:
    user = await users_service.get_user(session, user_id=caller.user_id)
    return VoicePrincipal(caller, user)


def _voice(runtime: RuntimeDep) -> VoiceRuntime:
    return runtime.voice


VoiceCaller = Annotated[VoicePrincipal, Depends(_principal)]
Voice = Annotated[VoiceRuntime, Depends(_voice)]
