"""Two app instances on one database and one Redis: what one process learns
about a key, or an edit made through one, reaches the other (Redis only)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from aihub.provider_keys.pool import KeyPool
from tests.factories import Account, make_user
from tests.provider_keys.builders import add_keys, picks, statuses
from tests.provider_keys.conftest import MakeApp, pool_of


async def _eventually(
    probe: Callable[[], Awaitable[list[int]]], expected: list[int]
) -> None:
    """Cross-process news travels by pub/sub: wait for it (bounded), untimed."""
    for _ in range(200):
        if (got := await probe()) == expected:
            break
        await asyncio.sleep(0.05)
    assert got == expected


async def _twice(pool: KeyPool, user: Account) -> list[int]:
    return await picks(pool, user, 2)


class TestAcrossProcesses:
    async def test_health_set_in_one_process_is_seen_by_another(
        self, client: httpx.AsyncClient, pool: KeyPool, make_app: MakeApp
    ) -> None:
        other = pool_of(await make_app())
        user = await make_user(client)
        first, second = await add_keys(client, user, 2)
        assert sorted(await _twice(other, user)) == [first, second]
        lease = await pool.acquire("openai", user_id=user.id)
        assert lease.key_id == first
        await lease.rate_limited(600)
        assert (await statuses(other, user))[first].status == "WAIT"
        await _eventually(lambda: _twice(other, user), [second, second])

    async def test_a_cold_process_reads_the_shared_health(
        self, client: httpx.AsyncClient, pool: KeyPool, make_app: MakeApp
    ) -> None:
        user = await make_user(client)
        first, second = await add_keys(client, user, 2)
        lease = await pool.acquire("openai", user_id=user.id)
        await lease.auth_failed("revoked")
        other = pool_of(await make_app())
        assert await _twice(other, user) == [second, second]
        assert first != second

    async def test_an_edit_in_one_process_reaches_another(
        self, client: httpx.AsyncClient, make_app: MakeApp
    ) -> None:
        other = pool_of(await make_app())
        user = await make_user(client)
        first, second = await add_keys(client, user, 2)
        assert sorted(await _twice(other, user)) == [first, second]
        await client.delete(f"/api/api-keys/{first}", headers=user.headers)
        await _eventually(lambda: _twice(other, user), [second, second])
