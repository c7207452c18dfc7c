"""Annotated dependencies every router shares (auth ones live in aihub.auth.deps)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from aihub.core.db import get_session
from aihub.core.settings import Settings


def _settings(conn: HTTPConnection) -> Settings:
    settings: Settings = conn.app.state.settings
    return settings


def _sessionmaker(conn: HTTPConnection) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = conn.app.state.sessionmaker
    return maker


def _secret_key(conn: HTTPConnection) -> str:
    secret: str = conn.app.state.secret_key
    return secret


DbSession = Annotated[AsyncSession, Depends(get_session)]
AppSettings = Annotated[Settings, Depends(_settings)]
SessionMaker = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]
SecretKey = Annotated[str, Depends(_secret_key)]
