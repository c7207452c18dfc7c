"""The chat core's process-wide objects, from the process's runtime."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from starlette.requests import HTTPConnection

from aihub.chat.schemas import DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S
from aihub.chat.service import ChatDeps
from aihub.files.service import OwnFiles, link_bases
from aihub.runs.hub import RunHub
from aihub.runtime import RuntimeDep


def _chat_deps(conn: HTTPConnection, runtime: RuntimeDep) -> ChatDeps:
    settings = runtime.settings
    files = OwnFiles(
        runtime.blobs,
        link_bases(settings.public_url, str(conn.base_url)),
        runtime.outbound,
    )
    return ChatDeps(
        llm=runtime.llm,
        runs=runtime.runs,
        key_wait_s=settings.key_wait_s,
        files=files,
    )


def _runs(runtime: RuntimeDep) -> RunHub:
    return runtime.runs


Chat = Annotated[ChatDeps, Depends(_chat_deps)]
Runs = Annotated[RunHub, Depends(_runs)]
UseContext = Annotated[
    bool, Query(description="false: send only this message and the system prompt")
]
Timeout = Annotated[
    float,
    Query(
        alias="timeout",
        gt=0,
        le=MAX_TIMEOUT_S,
        description="Generation timeout in seconds",
    ),
]
DEFAULT_TIMEOUT = DEFAULT_TIMEOUT_S
