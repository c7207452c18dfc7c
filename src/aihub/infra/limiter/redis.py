"""Redis limiter: the ``limits`` library's async Redis storage on the redis-py
client (its Lua scripts make each hit atomic across processes). Keys live under
``aihub:limits:``.

On a single Redis (and a Sentinel-managed master) the storage shares the
Infra's connection pool. On a Redis Cluster it is the library's cluster
storage, with a cluster client of its own built from the same seeds and
credentials: the sliding-window script touches two keys (this window and the
previous one), which the library names with one hash tag (``{...}`` and
``{...}/-1``), so both always live in the same slot.
"""

from __future__ import annotations

from typing import Any, cast

from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.errors import StorageError
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection

from aihub.infra.limiter.window import SlidingWindowLimiter
from aihub.infra.redis_client import REDIS_ERRORS, RedisClient

PREFIX = "aihub:limits"


class RedisLimiter(SlidingWindowLimiter):
    # limits wraps redis-py's RedisError only; the cluster client raises
    # RedisClusterException too when no node answers.
    unavailable_errors = (StorageError, *REDIS_ERRORS)

    def __init__(
        self, client: RedisClient, *, window_s: int = 60, prefix: str = PREFIX
    ) -> None:
        storage: RedisStorage
        self._own_client: RedisCluster | None = None
        if isinstance(client, RedisCluster):
            storage = _cluster_storage(client, prefix)
            # The library's own cluster client (limits has no close of its own).
            self._own_client = cast(Any, storage.bridge).get_connection()
        else:
            # limits types its pass-through options as scalars; the pool is
            # passed on to redis.asyncio.Redis(connection_pool=...) untouched.
            options: dict[str, Any] = {"connection_pool": client.connection_pool}
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                key_prefix=prefix,
                wrap_exceptions=True,
                **options,
            )
        super().__init__(storage, window_s=window_s)

    async def close(self) -> None:
        """Close the cluster client of its own; a shared one is the Infra's."""
        client, self._own_client = self._own_client, None
        if client is not None:
            await client.aclose()


def _cluster_storage(client: RedisCluster, prefix: str) -> RedisClusterStorage:
    seeds = ",".join(f"{node.host}:{node.port}" for node in _seeds(client))
    kwargs = client.connection_kwargs
    options: dict[str, Any] = {
        name: kwargs[name]
        for name in (
            "username",
            "password",
            "client_name",
            "socket_connect_timeout",
            "socket_timeout",
            "socket_keepalive",
        )
        if kwargs.get(name) is not None
    }
    if kwargs.get("connection_class") is SSLConnection:
        options["ssl"] = True
        options.update({k: v for k, v in kwargs.items() if k.startswith("ssl_")})
    options["retry"] = client.retry
    return RedisClusterStorage(
        f"async+redis+cluster://{seeds}",
        implementation="redispy",
        key_prefix=prefix,
        wrap_exceptions=True,
        **options,
    )


def _seeds(client: RedisCluster) -> list[Any]:
    """The client's startup nodes (the cluster's own view once it has one)."""
    manager = client.nodes_manager
    return list(manager.startup_nodes.values()) or list(manager.nodes_cache.values())
