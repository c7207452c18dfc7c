"""Keys made through the API, and the pool's picks and statuses, for pool tests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aihub.core.errors import AihubError
from aihub.provider_keys.pool import KeyPool
from aihub.provider_keys.schemas import PoolKeyStatus
from tests.factories import Account


async def add_key(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    secret: str,
    *,
    url: str = "/api/api-keys/",
    **fields: Any,
) -> int:
    body = {"provider": "openai", "api_key": secret, "name": secret, **fields}
    response = await client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    key_id: int = response.json()["id"]
    return key_id


async def add_keys(
    client: httpx.AsyncClient,
    user: Account,
    count: int,
    provider: str = "openai",
    **fields: Any,
) -> list[int]:
    return [
        await add_key(
            client, user.headers, f"sk-test-{provider}-{n}", provider=provider, **fields
        )
        for n in range(count)
    ]


async def picks(
    pool: KeyPool, user: Account, count: int, provider: str = "openai"
) -> list[int]:
    """The keys of ``count`` successful calls, in order."""
    picked = []
    for _ in range(count):
        lease = await pool.acquire(provider, user_id=user.id, timeout_s=0)
        lease.success()
        picked.append(lease.key_id)
    return picked


async def statuses(pool: KeyPool, user: Account) -> dict[int, PoolKeyStatus]:
    return {entry.id: entry for entry in await pool.pool_status(user.id)}


async def acquire_error(
    pool: KeyPool, user: Account, timeout_s: float = 0
) -> AihubError:
    with pytest.raises(AihubError) as caught:
        await pool.acquire("openai", user_id=user.id, timeout_s=timeout_s)
    return caught.value
