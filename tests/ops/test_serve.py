"""`aihub serve` from the command line, on a real socket, as a new user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHEAP_PASSWORD_HASH, _empty_tables

AIHUB = str(Path(sys.executable).with_name("aihub"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"aihub serve exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("aihub serve did not become healthy")


@pytest.fixture
def served(
    tmp_path: Path, database_url: str, redis_url: str | None
) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """aihub serve with no secret key and no admin configured: a fresh machine."""
    port = _free_port()
    data_dir = tmp_path / "served-data"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "SENTRY"))
    }
    env.update(
        AIHUB_HOST="127.0.0.1",
        AIHUB_PORT=str(port),
        AIHUB_DATA_DIR=str(data_dir),
        AIHUB_DATABASE_URL=database_url,
        AIHUB_ADMIN_USERNAME="served-admin",
        **CHEAP_PASSWORD_HASH,
    )
    if redis_url:
        env["AIHUB_REDIS_URL"] = redis_url
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [AIHUB, "serve"], env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, process)
            yield url, data_dir, process
        finally:
            process.terminate()
            process.wait(timeout=20)
    import asyncio

    asyncio.run(_empty_tables(database_url))


def test_version_prints_the_package_version() -> None:
    result = subprocess.run(
        [AIHUB, "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("aihub ")


def test_fresh_machine_register_login_and_create_thread(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    url, _, _ = served
    with httpx.Client(base_url=url, timeout=10) as http:
        body = {
            "email": "new@example.com",
            "username": "newbie",
            "password": "pw-12345678",
        }
        assert http.post("/api/users/", json=body).status_code == 201
        token = http.post(
            "/api/auth/login",
            json={"email": body["email"], "password": body["password"]},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        created = http.post(
            "/api/threads/",
            json={
                "title": "First",
                "initial_message": "hi",
                "system_prompt": "be kind",
            },
            headers=headers,
        )
        assert created.status_code == 201, created.text
        assert created.json()["message_count"] == 2
        assert http.get("/ready").json()["status"] == "ok"
        assert "aihub_http_requests_total" in http.get("/metrics").text


def test_fresh_machine_generates_secret_key_and_admin_credentials(
    served: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    url, data_dir, _ = served
    secret = data_dir / "secret_key"
    credentials = data_dir / "admin_credentials.txt"
    assert len(secret.read_text().strip()) >= 32
    assert secret.stat().st_mode & 0o077 == 0
    assert credentials.stat().st_mode & 0o077 == 0
    fields = dict(
        line.split("=", 1) for line in credentials.read_text().splitlines() if line
    )
    response = httpx.post(
        f"{url}/api/auth/token",
        data={"username": fields["email"], "password": fields["password"]},
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"


def test_migrate_command_is_idempotent(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
    env["AIHUB_DATA_DIR"] = str(tmp_path / "d")
    for _ in range(2):
        subprocess.run([AIHUB, "migrate"], env=env, check=True, capture_output=True)
    assert (tmp_path / "d" / "aihub.db").stat().st_size > 0


def test_create_admin_makes_an_account_that_can_log_in(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIHUB_")}
    env.update(CHEAP_PASSWORD_HASH, AIHUB_DATA_DIR=str(tmp_path / "d"))
    subprocess.run(
        [
            AIHUB,
            "create-admin",
            "--email",
            "boss@example.com",
            "--username",
            "boss",
            "--password",
            "boss-password-1",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    env.update(AIHUB_HOST="127.0.0.1", AIHUB_PORT=str(port))
    process = subprocess.Popen(
        [AIHUB, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process)
        token = httpx.post(
            f"{url}/api/auth/token",
            data={"username": "boss", "password": "boss-password-1"},
        ).json()["access_token"]
        users = httpx.get(
            f"{url}/api/admin/users", headers={"Authorization": f"Bearer {token}"}
        )
        assert users.status_code == 200
        assert [u["role"] for u in users.json()] == ["admin"]
        assert not (tmp_path / "d" / "admin_credentials.txt").exists()
    finally:
        process.terminate()
        process.wait(timeout=20)
