"""Real processes for the fault-injection suite: ``aihub serve`` (two, on spare
ports), ``aihub worker``, a ``redis-server`` of its own, on a PostgreSQL
database created for the run (and dropped after). Everything listens on
127.0.0.1; every process is killed in teardown whatever happened."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.redis_cluster import RedisClusterServers, SentinelServers
from tests.redis_server import RedisServer, free_port

AIHUB = str(Path(sys.executable).with_name("aihub"))
SECRET = "fault-suite-secret-key-long-enough-for-hs256"

# Short liveness timings, so that the documented bounds (ttl + sweep interval
# for answers, stale_after + sweep interval for media jobs) fit the CI budget.
TIMINGS = {
    "AIHUB_CHAT_HEARTBEAT_TTL_S": "4",
    "AIHUB_CHAT_HEARTBEAT_INTERVAL_S": "1",
    "AIHUB_CHAT_SWEEP_INTERVAL_S": "1",
    "AIHUB_CHAT_FLUSH_INTERVAL_S": "0.3",
    "AIHUB_MEDIA_HEARTBEAT_S": "0.5",
    "AIHUB_MEDIA_STALE_AFTER_S": "4",
    "AIHUB_MEDIA_SWEEP_INTERVAL_S": "1",
    "AIHUB_MEDIA_POLL_INTERVAL_S": "0.2",
    "AIHUB_MEDIA_RETRY_DELAY_S": "0.1",
    "AIHUB_MEDIA_WORKER_HEARTBEAT_S": "1",
    "AIHUB_MEDIA_WORKER_SEEN_TTL_S": "3",
}
ANSWER_BOUND_S = 4 + 1
"""Documented: an answer whose process died is interrupted within TTL + sweep."""
JOB_BOUND_S = 4 + 1
"""Documented: a dead worker's job is requeued within stale_after + sweep."""


def pg_server_url() -> str | None:
    """The PostgreSQL server (its URL without the database) the tests use."""
    for name in ("AIHUB_TEST_DATABASE_URL", "AIHUB_DATABASE_URL"):
        url = os.environ.get(name)
        if url and url.startswith("postgresql"):
            return url.rpartition("/")[0]
    return None


async def create_database(server: str, name: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(_dsn(server))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server}/{name}"


async def drop_database(server: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_dsn(server))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _dsn(server: str) -> str:
    return server.replace("postgresql+asyncpg", "postgresql") + "/postgres"


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()

    async def wait_healthy(self, within_s: float = 60) -> float:
        """Seconds until /health answers (the process must stay alive)."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() - started < within_s:
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError(
                        f"{self.name} exited with {self.process.returncode}: "
                        f"{self.log_tail()}"
                    )
                try:
                    if (await http.get(f"{self.url}/health")).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not healthy: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Cluster:
    workdir: Path
    database_url: str
    redis: RedisServer | RedisClusterServers | SentinelServers
    """A single server, a Redis Cluster or a Sentinel set-up (see conftest)."""
    procs: dict[str, Proc] = field(default_factory=dict)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIHUB_", "SENTRY", "PYTEST"))
        }
        data_dir = self.workdir / name
        data_dir.mkdir(parents=True, exist_ok=True)
        base.update(
            AIHUB_DATABASE_URL=self.database_url,
            AIHUB_REDIS_URL=self.redis.url(),
            AIHUB_SECRET_KEY=SECRET,
            AIHUB_ADMIN_EMAIL=ADMIN_EMAIL,
            AIHUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
            AIHUB_DATA_DIR=str(data_dir),
            AIHUB_FILES_DIR=str(self.workdir / "files"),
            AIHUB_LOG_FORMAT="console",
            AIHUB_LOG_LEVEL="WARNING",
            # The fake providers listen on 127.0.0.1: users' keys may use it.
            AIHUB_OUTBOUND_ALLOW="127.0.0.1/32",
            **TIMINGS,
        )
        base.update(extra)
        return base

    def add_api(self, name: str, **extra: str) -> Proc:
        port = free_port()
        proc = Proc(
            name,
            [AIHUB, "serve", "--host", "127.0.0.1", "--port", str(port)],
            self.env(name, **extra),
            self.workdir / f"{name}.log",
            port=port,
        )
        self.procs[name] = proc
        return proc

    def add_worker(self, name: str) -> Proc:
        proc = Proc(
            name, [AIHUB, "worker"], self.env(name), self.workdir / f"{name}.log"
        )
        self.procs[name] = proc
        return proc

    async def ensure_up(self, *names: str) -> None:
        for name in names:
            proc = self.procs[name]
            if not proc.alive:
                proc.start()
                if proc.port is not None:
                    await proc.wait_healthy()

    def kill_all(self) -> None:
        for proc in self.procs.values():
            proc.kill9()
