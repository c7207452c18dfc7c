"""The process's infrastructure, for the announcements a team change makes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from aihub.infra import Infra


def _infra(conn: HTTPConnection) -> Infra:
    infra: Infra = conn.app.state.infra
    return infra


AppInfra = Annotated[Infra, Depends(_infra)]
