"""One process at a time through start-up work (migrations, the bootstrap admin).

Two ``aihub serve`` started together on a fresh database would both create the
tables and both insert the admin. On PostgreSQL the work runs under a session
advisory lock (``pg_advisory_lock``) held on its own connection; on SQLite under
an exclusive ``flock`` on a file beside the database. Whoever waits then finds
the work done (migrations at head, the admin present) and does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

STARTUP_LOCK_KEY = 0x616968_7562  # "aihub": one key for every aihub start-up step


def _sqlite_lock_path(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(f"{database}.startup.lock")


@asynccontextmanager
async def _file_lock(path: Path | None) -> AsyncIterator[None]:
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = await asyncio.to_thread(os.open, path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@asynccontextmanager
async def _advisory_lock(connection: AsyncConnection) -> AsyncIterator[None]:
    key = {"key": STARTUP_LOCK_KEY}
    await connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
    await connection.commit()  # the lock belongs to the session, not a transaction
    try:
        yield
    finally:
        with contextlib.suppress(SQLAlchemyError):  # closing the connection frees it
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
            await connection.commit()


@asynccontextmanager
async def holding_connection(connection: AsyncConnection) -> AsyncIterator[None]:
    """The start-up lock, taken through ``connection`` (PostgreSQL) or the
    database's lock file (SQLite), for work done on that same connection."""
    if connection.dialect.name == "postgresql":
        async with _advisory_lock(connection):
            yield
    else:
        async with _file_lock(_sqlite_lock_path(str(connection.engine.url))):
            yield


@asynccontextmanager
async def startup_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """The start-up lock, on a connection outside ``engine``'s pool (a small
    pool must not deadlock), for work done through ``engine`` (the admin)."""
    if engine.dialect.name != "postgresql":
        async with _file_lock(_sqlite_lock_path(str(engine.url))):
            yield
        return
    lock_engine = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with lock_engine.connect() as connection, _advisory_lock(connection):
            yield
    finally:
        await lock_engine.dispose()
