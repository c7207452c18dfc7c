"""A user's change made in one `aihub serve` process reaches the gateway key
cache of another (PostgreSQL + Redis): users and admin announce it on the
event bus (``users.changed``), they do not call into the gateway. The other
process caches keys for a minute, so only the announcement ends them sooner."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHEAP_PASSWORD_HASH,
    _empty_tables,
    _flush_redis,
)
from tests.factories import Account, admin_headers, make_user
from tests.ops.test_serve import AIHUB, _free_port, _wait_healthy

REFUSED_WITHIN_S = 10.0
"""Well under the key cache's 60 s: a refusal sooner comes from the event."""


def _serve(
    tmp_path: Path, name: str, port: int, database_url: str, redis_url: str
) -> subprocess.Popen[bytes]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AIHUB_", "SENTRY"))
    }
    env.update(
        AIHUB_HOST="127.0.0.1",
        AIHUB_PORT=str(port),
        AIHUB_DATA_DIR=str(tmp_path / name),
        AIHUB_DATABASE_URL=database_url,
        AIHUB_REDIS_URL=redis_url,
        AIHUB_SECRET_KEY="user-change-test-secret-key-long-enough-for-hs256",
        AIHUB_ADMIN_EMAIL=ADMIN_EMAIL,
        AIHUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
        **CHEAP_PASSWORD_HASH,
    )
    log = (tmp_path / f"{name}.log").open("ab")
    process = subprocess.Popen(
        [AIHUB, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    return process


@pytest.fixture
def servers(
    tmp_path: Path, database_url: str, redis_url: str | None
) -> Iterator[tuple[str, str]]:
    if not redis_url or not database_url.startswith("postgresql"):
        pytest.skip("two processes share users and the event bus: PostgreSQL + Redis")
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for name in ("first", "second"):
            port = _free_port()
            processes.append(_serve(tmp_path, name, port, database_url, redis_url))
            urls.append(f"http://127.0.0.1:{port}")
        for name, url, process in zip(
            ("first", "second"), urls, processes, strict=True
        ):
            try:
                _wait_healthy(url, process)
            except AssertionError as exc:  # say why, from the server's own log
                log = (tmp_path / f"{name}.log").read_text(errors="replace")
                raise AssertionError(f"{exc}\n{log[-4000:]}") from exc
        yield urls[0], urls[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        asyncio.run(_empty_tables(database_url))
        asyncio.run(_flush_redis(redis_url))


async def _key(client: httpx.AsyncClient, user: Account) -> str:
    created = await client.post(
        "/api/gateway-keys/", json={"name": "ci"}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


async def _models(client: httpx.AsyncClient, key: str) -> int:
    reply = await client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    return reply.status_code


async def _refused_in_time(client: httpx.AsyncClient, key: str) -> bool:
    deadline = asyncio.get_running_loop().time() + REFUSED_WITHIN_S
    while asyncio.get_running_loop().time() < deadline:
        if await _models(client, key) == 401:
            return True
        await asyncio.sleep(0.05)
    return False


def test_a_user_change_in_one_process_ends_their_cached_keys_in_another(
    servers: tuple[str, str],
) -> None:
    first_url, second_url = servers

    async def run() -> None:
        async with (
            httpx.AsyncClient(base_url=first_url, timeout=30) as first,
            httpx.AsyncClient(base_url=second_url, timeout=30) as second,
        ):
            admin = await admin_headers(first)
            deactivated, deleted = await make_user(first), await make_user(first)
            keys = {u.id: await _key(first, u) for u in (deactivated, deleted)}
            for key in keys.values():  # now cached by the second process
                assert await _models(second, key) == 200

            changed = await first.patch(
                f"/api/admin/users/{deactivated.id}",
                json={"is_active": False},
                headers=admin,
            )
            assert changed.status_code == 200, changed.text
            assert await _refused_in_time(second, keys[deactivated.id])

            gone = await first.delete("/api/users/me", headers=deleted.headers)
            assert gone.status_code == 204, gone.text
            assert await _refused_in_time(second, keys[deleted.id])

    asyncio.run(run())
