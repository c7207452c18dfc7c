"""Every infra test runs on the in-process backends and, when a Redis URL is in
the environment (AIHUB_TEST_REDIS_URL or AIHUB_REDIS_URL), on Redis too.

``peers`` gives two Infra that should see each other's state: two separate
instances on one Redis (the cross-process case), or one in-process instance
twice (in-process state is per process by design)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import structlog

from aihub.infra import Infra, build_infra
from aihub.infra.redis_client import (
    build_redis_client,
    close_client,
    flush,
    parse_redis_url,
    sharded_pubsub,
)


def _configured_redis_url() -> str | None:
    for name in ("AIHUB_TEST_REDIS_URL", "AIHUB_REDIS_URL"):
        if value := os.environ.get(name):
            return value
    return None


REDIS_URL = _configured_redis_url()
BACKENDS = ["memory", "redis"] if REDIS_URL else ["memory"]
SHARDED = REDIS_URL is not None and sharded_pubsub(REDIS_URL)
"""The configured Redis is a cluster with sharded pub/sub (no patterns)."""

# Single-Redis scenarios (connection counts, reconnects, databases) have no
# in-process counterpart: without a plain redis:// URL that module is not
# collected (a cluster or Sentinel has its own, test_redis_cluster.py).
PLAIN_REDIS = REDIS_URL is not None and parse_redis_url(REDIS_URL) is None
collect_ignore = [] if PLAIN_REDIS else ["test_redis_backends.py"]
# The cluster and Sentinel tests start their own (a few seconds): with the
# Redis pass of `make test` (a plain Redis URL) and in `make test-cluster`.
if not (PLAIN_REDIS or os.environ.get("AIHUB_TEST_CLUSTER")):
    collect_ignore.append("test_redis_cluster.py")

MakeInfra = Callable[..., Awaitable[Infra]]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def make_infra(backend: str) -> AsyncIterator[MakeInfra]:
    built: list[Infra] = []

    async def make(**options: Any) -> Infra:
        infra = await build_infra(REDIS_URL if backend == "redis" else None, **options)
        built.append(infra)
        return infra

    yield make
    for infra in built:
        await infra.close()
    if backend == "redis":
        assert REDIS_URL is not None
        client = build_redis_client(REDIS_URL)
        await flush(client)
        await close_client(client)


@pytest.fixture
async def infra(make_infra: MakeInfra) -> Infra:
    return await make_infra()


@pytest.fixture
async def peers(make_infra: MakeInfra, backend: str) -> tuple[Infra, Infra]:
    first = await make_infra()
    if backend == "memory":
        return first, first
    return first, await make_infra()


@pytest.fixture(autouse=True)
def _structlog_defaults() -> Iterator[None]:
    """Apps built by other tests configure structlog at WARNING; log assertions
    here need structlog's defaults (every level reaches capture_logs)."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
