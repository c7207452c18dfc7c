"""What the provider key routes need from the app: the secret box, the infra and
the outbound URL policy."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aihub.core.deps import SecretKey
from aihub.core.security import SecretBox
from aihub.infra import Infra
from aihub.infra.outbound import OutboundPolicy


def _secret_box(secret: SecretKey) -> SecretBox:
    return SecretBox(secret)


def _infra(conn: HTTPConnection) -> Infra:
    infra: Infra = conn.app.state.infra
    return infra


def _outbound(conn: HTTPConnection) -> OutboundPolicy:
    policy: OutboundPolicy = conn.app.state.outbound
    return policy


KeyBox = Annotated[SecretBox, Depends(_secret_box)]
AppInfra = Annotated[Infra, Depends(_infra)]
Outbound = Annotated[OutboundPolicy, Depends(_outbound)]
