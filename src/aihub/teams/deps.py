"""The process's infrastructure, for the announcements a team change makes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aihub.infra import Infra
from aihub.runtime import RuntimeDep


def _infra(runtime: RuntimeDep) -> Infra:
    return runtime.infra


AppInfra = Annotated[Infra, Depends(_infra)]
