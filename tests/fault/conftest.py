"""The fault-injection suite's processes and figures.

Needs a PostgreSQL server (AIHUB_TEST_DATABASE_URL or AIHUB_DATABASE_URL, a
database is created per run and dropped after) and ``redis-server`` on PATH
(started by the suite on a spare port). Without PostgreSQL the directory is
not collected, and the run says so in its summary; ``make test`` runs it on
the PostgreSQL + Redis pass (see the README, "Fault-injection suite")."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from aihub.core.db import build_engine
from tests.factories import admin_headers
from tests.fakes.media_upstream import FakeMediaUpstream
from tests.fakes.upstream import FakeUpstream
from tests.fault import figures
from tests.fault.cluster import (
    Cluster,
    create_database,
    drop_database,
    pg_server_url,
)
from tests.redis_cluster import RedisClusterServers, SentinelServers
from tests.redis_server import RedisServer

PG_SERVER = pg_server_url()
REASON = (
    "the fault-injection suite needs PostgreSQL (AIHUB_TEST_DATABASE_URL) "
    "and redis-server"
)
collect_ignore_glob = [] if PG_SERVER and shutil.which("redis-server") else ["*.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/fault/" in str(item.path):
            item.add_marker(pytest.mark.fault)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if collect_ignore_glob:
        terminalreporter.write_sep("-", f"fault-injection suite NOT run: {REASON}")
        return
    if figures.FIGURES:
        terminalreporter.write_sep("-", "fault-injection figures")
        for line in figures.FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def fault_upstream() -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fault_media() -> Iterator[FakeMediaUpstream]:
    server = FakeMediaUpstream()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Cluster]:
    """Redis, a fresh database, API processes ``a`` and ``b`` and worker ``w``."""
    assert PG_SERVER is not None
    workdir = tmp_path_factory.mktemp("fault")
    name = f"h_fault_{os.getpid()}"
    url = await create_database(PG_SERVER, name)
    redis = _redis(workdir / "redis")
    made = Cluster(workdir=workdir, database_url=url, redis=redis)
    try:
        redis.start()
        a = made.add_api("a")
        a.start()
        await a.wait_healthy()  # migrates the database first, alone
        made.add_api("b")
        made.add_worker("w")
        await made.ensure_up("b", "w")
        yield made
    finally:
        made.kill_all()
        redis.stop()
        if isinstance(redis, SentinelServers):
            redis.close()
        await drop_database(PG_SERVER, name)


def _redis(workdir: Path) -> RedisServer | RedisClusterServers | SentinelServers:
    """The suite's Redis: one server, or (``AIHUB_TEST_FAULT_REDIS=cluster``,
    ``make test-cluster``) a 3-master Redis Cluster, or (``=sentinel``) a
    master behind a sentinel; each stopped and started as a whole by the
    outage test."""
    kind = os.environ.get("AIHUB_TEST_FAULT_REDIS", "single")
    if kind == "cluster":
        return RedisClusterServers(workdir)
    if kind == "sentinel":
        return SentinelServers(workdir)
    if kind != "single":
        raise ValueError(f"AIHUB_TEST_FAULT_REDIS: unknown {kind!r}")
    return RedisServer(workdir)


@pytest.fixture(scope="session")
async def engine(cluster: Cluster) -> AsyncIterator[AsyncEngine]:
    """The test's own connection to the cluster's database, for checks."""
    made = build_engine(cluster.database_url)
    yield made
    await made.dispose()


@pytest.fixture(scope="session")
async def global_key(cluster: Cluster, fault_upstream: FakeUpstream) -> str:
    """An admin's global OpenAI key pointing at the fake upstream."""
    secret = "sk-fault-global"
    async with httpx.AsyncClient(base_url=cluster.procs["a"].url, timeout=30) as c:
        headers = await admin_headers(c)
        response = await c.post(
            "/api/admin/api-keys/",
            json={
                "provider": "openai",
                "api_key": secret,
                "name": "fault",
                "base_url": fault_upstream.base_url("openai"),
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
    return secret


def workdir_of(cluster: Cluster) -> Path:
    return cluster.workdir
