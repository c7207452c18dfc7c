"""Media tests run the job system for real: on SQLite with the in-process
queue and worker, or, when AIHUB_TEST_REDIS_URL is set, on PostgreSQL + Redis
with the API submitting only and a separate ``aihub worker`` process (one per
test session) running the jobs. Timings are shortened, never asserted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from aihub.core.settings import Settings

FAST: dict[str, Any] = {
    "media_poll_interval_s": 0.02,
    "media_heartbeat_s": 0.2,
    "media_stale_after_s": 3.0,  # a loaded CI machine must not look dead
    "media_sweep_interval_s": 0.3,
    "media_retry_delay_s": 0.05,
    "media_requeue_after_s": 30.0,
    "media_worker_concurrency": 2,
    "media_user_concurrency": 1,
    "media_max_attempts": 3,
    "media_wait_timeout_s": 30.0,
    "media_worker_heartbeat_s": 0.5,
    # A failed submit is not retried within the attempt here, so each scripted
    # failure is one attempt of the job; test_retries.py turns it back on.
    "upstream_retries": 0,
}


def worker_env(settings: Settings, **extra: Any) -> dict[str, str]:
    """The environment of an ``aihub worker`` sharing the test's set-up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
    values = {
        "AIHUB_DATABASE_URL": settings.resolved_database_url,
        "AIHUB_REDIS_URL": settings.redis_url or "",
        "AIHUB_SECRET_KEY": settings.secret_key.get_secret_value()
        if settings.secret_key
        else "",
        "AIHUB_DATA_DIR": str(settings.data_dir),
        "AIHUB_FILES_DIR": str(settings.files_dir),
        "AIHUB_LOG_LEVEL": "WARNING",
        "AIHUB_LOG_FORMAT": "console",
        "AIHUB_OUTBOUND_ALLOW": ",".join(settings.outbound_allow),
        **{f"AIHUB_{k.upper()}": str(v) for k, v in {**FAST, **extra}.items()},
    }
    env.update(values)
    return env


class WorkerProcess:
    """``aihub worker`` as a child process (killable to test recovery)."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env = env
        self._log = log_path.open("ab")
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "aihub", "worker"],
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def restart(self) -> None:
        """A new worker process in place of this one (after ``kill``)."""
        self.proc = self._spawn()

    def respawn(self, **settings: Any) -> None:
        """Stop gracefully and start again with these settings changed
        (``respawn()`` alone goes back to the session's)."""
        self.proc.terminate()
        self.proc.wait(timeout=15)
        base = getattr(self, "_base_env", self._env)
        self._base_env = base
        self._env = {
            **base,
            **{f"AIHUB_{k.upper()}": str(v) for k, v in settings.items()},
        }
        self.proc = self._spawn()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture(scope="session")
def media_files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One blob directory for the session: API and worker processes share it."""
    return tmp_path_factory.mktemp("media-files")


@pytest.fixture
def settings(settings: Settings, media_files_dir: Path) -> Settings:
    return settings.model_copy(update={**FAST, "files_dir": media_files_dir})


@pytest.fixture(scope="session")
def media_worker_process(
    redis_url: str | None,
    database_url: str,
    media_files_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess | None]:
    """With Redis: one ``aihub worker`` for the session; else None (in-process)."""
    if not redis_url:
        yield None
        return
    data_dir = tmp_path_factory.mktemp("worker-data")
    base = Settings(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        files_dir=media_files_dir,
        secret_key=SecretStr("test-secret-key-that-is-long-enough-for-hs256"),
        outbound_allow=["127.0.0.1"],  # as the shared ``settings``: the stand-ins
    )
    worker = WorkerProcess(worker_env(base), data_dir / "worker.log")
    time.sleep(0.5)
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _media_worker(media_worker_process: WorkerProcess | None) -> None:
    if media_worker_process is not None:
        assert media_worker_process.proc.poll() is None, "aihub worker died"
