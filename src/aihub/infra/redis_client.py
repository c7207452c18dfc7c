"""The one place that turns ``AIHUB_REDIS_URL`` into a redis-py client.

Three deployments, told apart by the URL's scheme:

- a single Redis: ``redis://``, ``rediss://`` or ``unix://`` (redis-py's own
  URL forms, unchanged);
- a Redis Cluster: ``redis+cluster://[user:password@]host:port[,host:port...]``
  (``rediss+cluster://`` for TLS), any node as seed, query options as for
  ``redis://``; always database 0 (a cluster has no other); ``?pubsub=sharded``
  moves the event bus to sharded pub/sub (see ``events/redis.py``);
- Sentinel: ``redis+sentinel://[user:password@]host:port[,host:port...]/service
  [/db]`` (``rediss+sentinel://`` for TLS to the master): the credentials are
  the master's, ``?sentinel_password=`` (and ``sentinel_username``) those of the
  sentinels when they need any. The client asks the sentinels for the current
  master on every (re)connect, so a failover is followed.

Sentinel yields a plain ``Redis`` client, so every single-Redis path works
unchanged on it; only a cluster needs the cluster-aware paths (``is_cluster``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeGuard
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as redis_asyncio
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisClusterException, RedisError

__all__ = [
    "CLUSTER_SCHEMES",
    "REDIS_ERRORS",
    "SENTINEL_SCHEMES",
    "RedisClient",
    "RedisUrl",
    "RedisUrlError",
    "build_redis_client",
    "close_client",
    "flush",
    "is_cluster",
    "is_cluster_url",
    "parse_redis_url",
    "sharded_pubsub",
]

RedisClient: TypeAlias = redis_asyncio.Redis | RedisCluster
"""A single Redis (or a Sentinel-managed master) or a cluster."""

REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
"""What a Redis call raises when the server (or the cluster) does not answer:
redis-py's cluster client raises ``RedisClusterException`` (not a
``RedisError``) when no node can be reached or a slot has no owner."""

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")


class RedisUrlError(ValueError):
    """``AIHUB_REDIS_URL`` could not be read (the message says why)."""


@dataclass(frozen=True, slots=True)
class RedisUrl:
    """A cluster or Sentinel URL, taken apart (single-Redis URLs stay text)."""

    mode: str
    """``cluster`` or ``sentinel``."""
    nodes: tuple[tuple[str, int], ...]
    tls: bool = False
    username: str | None = None
    password: str | None = None
    service: str | None = None
    db: int = 0
    query: dict[str, str] = field(default_factory=dict)


def parse_redis_url(url: str) -> RedisUrl | None:
    """A cluster or Sentinel URL's parts; None for a single-Redis URL."""
    scheme = url.partition("://")[0].lower()
    if scheme not in CLUSTER_SCHEMES + SENTINEL_SCHEMES:
        return None
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, password = _credentials(userinfo)
    nodes = tuple(_node(item) for item in hosts.split(",") if item.strip())
    if not nodes:
        raise RedisUrlError(f"{scheme}:// needs at least one host:port")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    tls = scheme.startswith("rediss")
    if scheme in CLUSTER_SCHEMES:
        if parts.path.strip("/") not in ("", "0"):
            raise RedisUrlError("a Redis Cluster has only database 0")
        return RedisUrl("cluster", nodes, tls, username, password, query=query)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not segments or len(segments) > 2:
        raise RedisUrlError(
            "redis+sentinel:// needs /service_name (and optionally /db) after the hosts"
        )
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise RedisUrlError(f"database must be a number, not {segments[1]!r}")
        db = int(segments[1])
    return RedisUrl("sentinel", nodes, tls, username, password, segments[0], db, query)


def build_redis_client(url: str) -> RedisClient:
    """The process's client for ``url`` (see the module docstring)."""
    options = _common_options()
    parsed = parse_redis_url(url)
    if parsed is None:
        return redis_asyncio.Redis.from_url(url, **options)
    if parsed.mode == "cluster":
        return _cluster(parsed, options)
    return _sentinel_master(parsed, options)


def is_cluster(client: object) -> TypeGuard[RedisCluster]:
    return isinstance(client, RedisCluster)


def is_cluster_url(url: str) -> bool:
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


async def close_client(client: RedisClient) -> None:
    """Close the client and, behind a Sentinel-managed one, its connections to
    the sentinels (closing the master's client leaves those open)."""
    await client.aclose()
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, SentinelConnectionPool):
        for sentinel in pool.sentinel_manager.sentinels:
            await sentinel.aclose()


async def flush(client: RedisClient) -> None:
    """Empty the database (every primary of a cluster): for tests and tools."""
    if isinstance(client, RedisCluster):
        await client.flushdb(target_nodes=RedisCluster.PRIMARIES)
    else:
        await client.flushdb()


def _common_options() -> dict[str, Any]:
    # A name per process shows in CLIENT LIST, so operators (and tests) can
    # tell aihub's connections apart. Retries are short (under half a second in
    # all, against redis-py's default of seconds): a request on the hot path
    # should learn fast that Redis is away.
    return {
        "client_name": f"aihub-{os.getpid()}-{secrets.token_hex(3)}",
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
        "socket_keepalive": True,
        "retry": Retry(ExponentialWithJitterBackoff(cap=0.25, base=0.01), retries=3),
    }


def sharded_pubsub(url: str) -> bool:
    """A cluster URL asks for sharded pub/sub (``?pubsub=sharded``)."""
    parsed = parse_redis_url(url)
    if parsed is None or parsed.mode != "cluster":
        return False
    return parsed.query.get("pubsub", "classic") == "sharded"


def _cluster(parsed: RedisUrl, options: dict[str, Any]) -> RedisCluster:
    # redis-py parses the query options of a one-host URL; the other seeds are
    # passed as startup nodes. ``pubsub`` is ours, not redis-py's.
    host, port = parsed.nodes[0]
    scheme = "rediss" if parsed.tls else "redis"
    own = {"pubsub"}
    if parsed.query.get("pubsub", "classic") not in ("classic", "sharded"):
        raise RedisUrlError("pubsub must be classic or sharded")
    query = "&".join(f"{k}={v}" for k, v in parsed.query.items() if k not in own)
    seed = f"{scheme}://{_bracket(host)}:{port}/" + (f"?{query}" if query else "")
    return RedisCluster.from_url(
        seed,
        startup_nodes=[ClusterNode(h, p) for h, p in parsed.nodes[1:]],
        username=parsed.username,
        password=parsed.password,
        **options,
    )


def _sentinel_master(parsed: RedisUrl, options: dict[str, Any]) -> redis_asyncio.Redis:
    if not parsed.service:
        raise RedisUrlError("redis+sentinel:// needs a service name")
    query = dict(parsed.query)
    sentinel_kwargs: dict[str, Any] = {
        "socket_connect_timeout": options["socket_connect_timeout"],
        "socket_timeout": options["socket_timeout"],
    }
    for name in ("sentinel_username", "sentinel_password"):
        if name in query:
            sentinel_kwargs[name.removeprefix("sentinel_")] = query.pop(name)
    if query:
        raise RedisUrlError(
            f"unknown redis+sentinel:// option(s): {', '.join(sorted(query))}"
        )
    sentinel = Sentinel(
        list(parsed.nodes),
        sentinel_kwargs=sentinel_kwargs,
        username=parsed.username,
        password=parsed.password,
        ssl=parsed.tls,
        **options,
    )
    client: redis_asyncio.Redis = sentinel.master_for(parsed.service, db=parsed.db)
    return client


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    if not userinfo:
        return None, None
    user, sep, password = userinfo.partition(":")
    return (unquote(user) or None), (unquote(password) if sep else None)


def _node(item: str) -> tuple[str, int]:
    host, sep, port = item.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise RedisUrlError(f"expected host:port, got {item.strip()!r}")
    return host.strip("[]"), int(port)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
