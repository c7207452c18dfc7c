"""What the provider key routes need from the app: the secret box, the infra and
the outbound URL policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aihub.core.deps import SecretKey
from aihub.core.security import SecretBox
from aihub.infra import Infra
from aihub.infra.outbound import OutboundPolicy
from aihub.runtime import RuntimeDep


def _secret_box(secret: SecretKey) -> SecretBox:
    return SecretBox(secret)


def _infra(runtime: RuntimeDep) -> Infra:
    return runtime.infra


def _outbound(runtime: RuntimeDep) -> OutboundPolicy:
    return runtime.outbound


KeyBox = Annotated[SecretBox, Depends(_secret_box)]
AppInfra = Annotated[Infra, Depends(_infra)]
Outbound = Annotated[OutboundPolicy, Depends(_outbound)]
