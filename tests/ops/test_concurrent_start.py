"""Two `aihub serve` started together on a fresh database (issue 12, defect 6):
migrations and the admin bootstrap run one process at a time, both come up."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from aihub.core.db import build_engine
from tests.ops.test_serve import AIHUB, _free_port, _wait_healthy

ADMIN_EMAIL = "boss@example.com"
ADMIN_PASSWORD = "boss-password-12"


async def _admin_rows(url: str) -> list[str]:
    engine = build_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT email FROM users WHERE role = 'admin'")
            )
            return [row[0] for row in rows]
    finally:
        await engine.dispose()


async def _recreate_pg_database(url: str, *, drop_only: bool = False) -> None:
    import asyncpg

    base, _, name = url.rpartition("/")
    dsn = base.replace("postgresql+asyncpg", "postgresql") + "/postgres"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@pytest.fixture
def fresh_database_url(tmp_path: Path, database_url: str) -> Iterator[str]:
    """An empty database of the suite's kind: a new SQLite file, or a new
    PostgreSQL database beside the suite's (``<name>_start``), dropped after."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'aihub.db'}"
        return
    url = f"{database_url.rsplit('?', 1)[0]}_start"
    asyncio.run(_recreate_pg_database(url))
    try:
        yield url
    finally:
        asyncio.run(_recreate_pg_database(url, drop_only=True))


def _serve(
    tmp_path: Path, name: str, database_url: str
) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    data_dir = tmp_path / "fresh"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "SENTRY"))
    }
    env.update(
        AIHUB_HOST="127.0.0.1",
        AIHUB_PORT=str(port),
        AIHUB_DATA_DIR=str(data_dir),
        AIHUB_DATABASE_URL=database_url,
        AIHUB_SECRET_KEY="concurrent-start-secret-key-long-enough-1",
        AIHUB_ADMIN_EMAIL=ADMIN_EMAIL,
        AIHUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    log = (tmp_path / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [AIHUB, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    return f"http://127.0.0.1:{port}", process


def test_two_servers_started_together_both_come_up_with_one_admin(
    tmp_path: Path, fresh_database_url: str
) -> None:
    servers = [_serve(tmp_path, f"serve{n}", fresh_database_url) for n in (1, 2)]
    try:
        for n, (url, process) in enumerate(servers, start=1):
            try:
                _wait_healthy(url, process)
            except AssertionError:
                log = (tmp_path / f"serve{n}.log").read_text(errors="replace")
                raise AssertionError(f"serve{n} failed:\n{log[-3000:]}") from None
        for url, _ in servers:
            login = httpx.post(
                f"{url}/api/auth/login",
                json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                timeout=30,
            )
            assert login.status_code == 200, login.text
            assert httpx.get(f"{url}/ready", timeout=10).json()["status"] == "ok"
    finally:
        for _, process in servers:
            process.terminate()
        for _, process in servers:
            process.wait(timeout=20)
    assert asyncio.run(_admin_rows(fresh_database_url)) == [ADMIN_EMAIL]
