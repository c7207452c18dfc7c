"""The team budget's admission rule with two processes on one Redis (two
``TeamBudgets``, each with its own client, as two ``aihub serve`` have): a
process with nothing in flight may run one unreserved call only while the
spend plus every process's reservations leaves room, so it cannot run call
after call past the budget while another process's reserved calls are out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aihub.gateway.caller import TeamLimits
from aihub.gateway.team_budget import (
    _TICKETS,
    TeamBudgetBusyError,
    TeamBudgetExceededError,
    TeamBudgets,
    Ticket,
)
from aihub.infra.redis_client import RedisClient, build_redis_client, close_client
from tests.redis_server import RedisServer

COST = 0.25
TEAM = TeamLimits(id=7, budget_usd=3.5 * COST)


@pytest.fixture
async def two_processes(tmp_path: Path) -> AsyncIterator[tuple[TeamBudgets, ...]]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    clients: list[RedisClient] = [build_redis_client(server.url()) for _ in range(2)]
    try:
        yield tuple(TeamBudgets(redis=c, wait_s=0.3) for c in clients)
    finally:
        for client in clients:
            await close_client(client)
        server.stop()


async def _admit(budgets: TeamBudgets) -> Ticket | None:
    """A call's admission in a request of its own (its own ticket list)."""

    async def request() -> Ticket | None:
        _TICKETS.set([])
        return await budgets.admit(TEAM)

    return await asyncio.create_task(request())


async def _call(budgets: TeamBudgets) -> None:
    """A whole call: admitted, then charged ``COST``."""

    async def request() -> None:
        _TICKETS.set([])
        await budgets.admit(TEAM)
        await budgets.charge(TEAM.id, COST)

    await asyncio.create_task(request())


async def test_unreserved_calls_count_other_processes_reservations(
    two_processes: tuple[TeamBudgets, TeamBudgets],
) -> None:
    first, second = two_processes
    await first.seed(TEAM.id, 0.0)
    await _call(first)  # the first process learns what a call costs
    held = [await _admit(first), await _admit(first)]  # two reserved calls out
    assert all(t is not None and t.member for t in held)  # reservations
    # spend 1 + reserved 2 of 3.5: the second process's one unreserved call fits
    await _call(second)
    # spend 2 + reserved 2: no room, whatever this process has in flight (none)
    with pytest.raises(TeamBudgetBusyError):
        await _admit(second)
    for ticket in held:  # the reserved calls end, charged
        assert ticket is not None

        async def charged(ticket: Ticket) -> None:
            _TICKETS.set([ticket])
            await first.charge(TEAM.id, COST)

        await asyncio.create_task(charged(ticket))
    assert await second.total(TEAM.id) == pytest.approx(4 * COST)
    with pytest.raises(TeamBudgetExceededError):
        await _admit(second)
