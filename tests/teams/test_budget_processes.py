"""Team budgets held across two `aihub serve` processes sharing the database
and Redis: concurrent streamed calls through both spend at most one call per
process beyond the budget."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chat.helpers import add_key
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, _empty_tables, _flush_redis
from tests.factories import admin_headers, make_user
from tests.fakes.upstream import FakeUpstream, Reply
from tests.ops.test_serve import AIHUB, _free_port, _wait_healthy
from tests.teams.test_team_keys import CALL_COST, USAGE, _stream, _team_spend

PROCESSES = 2
CALLS = 24
BUDGET_CALLS = 3.5


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
        AIHUB_SECRET_KEY="teams-budget-test-secret-key-long-enough-for-hs256",
        AIHUB_ADMIN_EMAIL=ADMIN_EMAIL,
        AIHUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
        AIHUB_OUTBOUND_ALLOW="127.0.0.1",  # the stand-in provider is on loopback
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
) -> Iterator[list[str]]:
    if not redis_url:
        pytest.skip("processes share a team's spend only through Redis")
    processes, urls = [], []
    try:
        for n in range(PROCESSES):
            port = _free_port()
            processes.append(
                _serve(tmp_path, f"serve{n}", port, database_url, redis_url)
            )
            urls.append(f"http://127.0.0.1:{port}")
        for n, (url, process) in enumerate(zip(urls, processes, strict=True)):
            try:
                _wait_healthy(url, process)
            except AssertionError as exc:  # say why, from the server's own log
                log = (tmp_path / f"serve{n}.log").read_text(errors="replace")
                raise AssertionError(f"{exc}\n{log[-4000:]}") from exc
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        asyncio.run(_empty_tables(database_url))
        asyncio.run(_flush_redis(redis_url))


def test_two_processes_overspend_by_at_most_one_call_each(
    servers: list[str], fake_upstream: FakeUpstream
) -> None:
    async def run() -> tuple[list[int], float]:
        clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in servers]
        try:
            first = clients[0]
            admin = await admin_headers(first)
            owner = await make_user(first)
            team = await first.post(
                "/api/teams/",
                json={"name": "two processes", "budget_usd": CALL_COST * BUDGET_CALLS},
                headers=admin,
            )
            assert team.status_code == 201, team.text
            team_id = team.json()["id"]
            added = await first.post(
                f"/api/teams/{team_id}/members",
                json={"user_id": owner.id, "role": "owner"},
                headers=admin,
            )
            assert added.status_code == 201, added.text
            await add_key(first, owner, fake_upstream, "sk-team-two-processes")
            fake_upstream.script(
                "sk-team-two-processes",
                default=Reply(usage=USAGE, chunks=4, chunk_delay=0.05),
            )
            key = await first.post(
                "/api/gateway-keys/",
                json={"name": "team", "team_id": team_id},
                headers=owner.headers,
            )
            secret = key.json()["key"]
            statuses = await asyncio.gather(
                *(_stream(clients[n % PROCESSES], secret) for n in range(CALLS))
            )
            ok = statuses.count(200)
            spent = await _team_spend(first, owner, team_id, ok * CALL_COST)
            return statuses, spent
        finally:
            for client in clients:
                await client.aclose()

    statuses, spent = asyncio.run(run())
    ok = statuses.count(200)
    assert set(statuses) <= {200, 402}, statuses
    # Within one call per process of the budget, and the budget was usable.
    assert spent <= CALL_COST * (BUDGET_CALLS + PROCESSES) + 1e-9, statuses
    assert int(BUDGET_CALLS) <= ok <= int(BUDGET_CALLS) + PROCESSES, statuses
    assert len(fake_upstream.requests) == ok
