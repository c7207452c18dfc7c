"""Annotated dependencies every router shares (auth ones live in aihub.auth.deps).

They read the process's runtime (``app.state.runtime``, see ``aihub.runtime``)
through ``CoreRuntime``: the few parts core knows of, so core imports no
domain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Protocol

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from aihub.core.settings import Settings


class CoreRuntime(Protocol):
    """The parts of ``aihub.runtime.Runtime`` that core's dependencies use."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def secret_key(self) -> str: ...


def core_runtime(conn: HTTPConnection) -> CoreRuntime:
    runtime: CoreRuntime = conn.app.state.runtime
    return runtime


async def get_session(conn: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """One session per request; rolled back on error, always closed."""
    async with core_runtime(conn).sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


def _settings(conn: HTTPConnection) -> Settings:
    return core_runtime(conn).settings


def _sessionmaker(conn: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    return core_runtime(conn).sessionmaker


def _secret_key(conn: HTTPConnection) -> str:
    return core_runtime(conn).secret_key


DbSession = Annotated[AsyncSession, Depends(get_session)]
AppSettings = Annotated[Settings, Depends(_settings)]
SessionMaker = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
SecretKey = Annotated[str, Depends(_secret_key)]
