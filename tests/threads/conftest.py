"""Two accounts, made through the API, for every thread test."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Account, make_user


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Account:
    return await make_user(client)
