"""Shared fixtures: the database chosen by the environment, an app per test,
an ASGI client, a real uvicorn on 127.0.0.1, and users made through the API.

AIHUB_TEST_DATABASE_URL (or AIHUB_DATABASE_URL) picks the database, default a
SQLite file; AIHUB_TEST_REDIS_URL (or AIHUB_REDIS_URL) switches the infra to
Redis. The schema comes from the Alembic migrations, once per session; every
table is emptied after each test (our streaming code opens its own sessions, so
a wrapping transaction would not see everything). A module marked
``pytestmark = pytest.mark.shared_app`` gets one app for all its tests instead,
emptied when the module ends. Passwords are hashed at argon2's minimum cost."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from aihub.catalog import service as catalog_service
from aihub.core.db import build_engine
from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.migrate import upgrade
from aihub.models import Base

pytest_plugins = ["tests.fakes.plugin"]

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "admin-password-123"
# argon2's minimum cost: the suite hashes hundreds of passwords (~300 ms each at
# the production default). Exported to the environment at start-up so Settings
# made by tests themselves and `aihub serve` subprocesses get it too.
# Marks a module whose tests share one app and database: tests that only read or
# make their own users and data, and make no app of their own (see `app`).
SHARED_APP = "shared_app"
# asgi-lifespan gives an app 5 s to start and to stop: not always enough on a
# shared machine.
LIFESPAN_TIMEOUT_S = 60
CHEAP_PASSWORD_HASH = {
    "AIHUB_PASSWORD_HASH_TIME_COST": "1",
    "AIHUB_PASSWORD_HASH_MEMORY_KIB": "8",
    "AIHUB_PASSWORD_HASH_PARALLELISM": "1",
}


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _per_worker_urls(worker: str) -> None:
    """Under pytest-xdist each worker gets its own PostgreSQL database and Redis
    db (SQLite files are per worker already), published in the environment so
    subprocesses started by tests (aihub serve, aihub worker) use them too."""
    index = int(worker.removeprefix("gw") or 0)
    for name in ("AIHUB_TEST_DATABASE_URL", "AIHUB_DATABASE_URL"):
        url = os.environ.get(name)
        if url and url.startswith("postgresql"):
            base, _, db = url.rpartition("/")
            worker_url = f"{base}/{db}_{worker}"
            asyncio.run(_create_database(base, f"{db}_{worker}"))
            os.environ[name] = worker_url
    for name in ("AIHUB_TEST_REDIS_URL", "AIHUB_REDIS_URL"):
        url = os.environ.get(name)
        if url and url.partition("://")[0].endswith("+cluster"):
            raise pytest.UsageError(
                "a Redis Cluster has database 0 only, so xdist workers would "
                "share it: run the cluster pass with -n 0 (make test-cluster does)"
            )
        if url:
            base, _, db = url.rpartition("/")
            number = int(db) if db.isdigit() else 0
            os.environ[name] = f"{base}/{(number + 1 + index) % 16}"


async def _create_database(base_url: str, name: str) -> None:
    import asyncpg

    dsn = base_url.replace("postgresql+asyncpg", "postgresql") + "/postgres"
    connection = await asyncpg.connect(dsn)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", name
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SHARED_APP}: the module's tests share one app and database, emptied "
        "when the module ends (for tests isolated by their own users).",
    )
    os.environ.update(CHEAP_PASSWORD_HASH)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        _per_worker_urls(worker)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _env("AIHUB_TEST_DATABASE_URL", "AIHUB_DATABASE_URL")
    if url is None:
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        asyncio.run(_reset_schema(url))
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    return _env("AIHUB_TEST_REDIS_URL", "AIHUB_REDIS_URL")


async def _reset_schema(url: str) -> None:
    engine = build_engine(url)
    async with engine.begin() as conn:
        if url.startswith("postgresql"):
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _empty_tables(url: str) -> None:
    engine = build_engine(url)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if url.startswith("postgresql"):
            joined = ", ".join(tables)
            await conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))
    await engine.dispose()


async def _flush_redis(url: str) -> None:
    from aihub.infra.redis_client import build_redis_client, close_client, flush

    client = build_redis_client(url)
    await flush(client)
    await close_client(client)


def _shares_app(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker(SHARED_APP) is not None


@pytest.fixture
def data_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if _shares_app(request):
        module_settings: Settings = request.getfixturevalue("module_settings")
        return module_settings.data_dir
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def warm_catalog() -> None:
    """The tokenizers load once per process (~1.5 s, cached): here, before the
    first app, so the first lifespan does not hit asgi-lifespan's 5 s start-up
    timeout on a loaded machine."""
    catalog_service.warm_up()


def _test_settings(
    data_dir: Path, database_url: str, redis_url: str | None
) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key=SecretStr("test-secret-key-that-is-long-enough-for-hs256"),
        admin_email=ADMIN_EMAIL,
        admin_password=SecretStr(ADMIN_PASSWORD),
        log_format="console",
        log_level="WARNING",
        max_body_bytes=1024 * 1024,
        password_hash_time_cost=1,
        password_hash_memory_kib=8,
        password_hash_parallelism=1,
        # The stand-in providers live on 127.0.0.1 and users' keys point at them;
        # ::1 stays refused: the SSRF tests aim at a loopback listener there.
        outbound_allow=["127.0.0.1"],
    )


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    database_url: str,
    redis_url: str | None,
    data_dir: Path,
    warm_catalog: None,
) -> Settings:
    if _shares_app(request):
        module_settings: Settings = request.getfixturevalue("module_settings")
        return module_settings
    return _test_settings(data_dir, database_url, redis_url)


@asynccontextmanager
async def _running_app(
    settings: Settings, database_url: str, redis_url: str | None
) -> AsyncIterator[FastAPI]:
    """An app through its lifespan; afterwards every table and Redis emptied."""
    application = create_app(settings)
    async with LifespanManager(
        application,
        startup_timeout=LIFESPAN_TIMEOUT_S,
        shutdown_timeout=LIFESPAN_TIMEOUT_S,
    ):
        yield application
    await _empty_tables(database_url)
    if redis_url:
        await _flush_redis(redis_url)


@pytest.fixture(scope="module")
def module_settings(
    database_url: str,
    redis_url: str | None,
    tmp_path_factory: pytest.TempPathFactory,
    warm_catalog: None,
) -> Settings:
    """The settings of a module marked shared_app (its own data dir)."""
    return _test_settings(tmp_path_factory.mktemp("data"), database_url, redis_url)


@pytest.fixture(scope="module")
async def module_app(
    module_settings: Settings, database_url: str, redis_url: str | None
) -> AsyncIterator[FastAPI]:
    """One app for a whole module marked shared_app; emptied when it ends."""
    async with _running_app(module_settings, database_url, redis_url) as application:
        yield application


@pytest.fixture
def shared_module_app(request: pytest.FixtureRequest) -> FastAPI | None:
    """The module's app when the module is marked shared_app, else None
    (resolved here, outside the event loop, so the async module fixture can
    start)."""
    if not _shares_app(request):
        return None
    application: FastAPI = request.getfixturevalue("module_app")
    return application


@pytest.fixture
async def app(
    settings: Settings,
    database_url: str,
    redis_url: str | None,
    shared_module_app: FastAPI | None,
) -> AsyncIterator[FastAPI]:
    """An app per test, started and stopped around it, its data emptied after;
    in a module marked shared_app, the module's one app (nothing emptied
    between its tests)."""
    if shared_module_app is not None:
        yield shared_module_app
        return
    async with _running_app(settings, database_url, redis_url) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://aihub") as c:
        yield c


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in its own thread and event loop."""

    def __init__(self, application: Any) -> None:
        config = uvicorn.Config(
            application,
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            lifespan="on",
            loop="asyncio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def start(self) -> None:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                break
            threading.Event().wait(0.01)
        else:  # pragma: no cover - only when uvicorn cannot start
            raise RuntimeError("uvicorn did not start")
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
def live_server(
    settings: Settings, database_url: str, redis_url: str | None
) -> Iterator[LiveServer]:
    server = LiveServer(create_app(settings))
    server.start()
    yield server
    server.stop()
    asyncio.run(_empty_tables(database_url))
    if redis_url:
        asyncio.run(_flush_redis(redis_url))
