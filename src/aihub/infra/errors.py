"""Errors the infra raises; callers decide whether to fail open or closed.

ServiceUnavailableError (core, 503 unavailable)
 └── BackendUnavailableError   the shared backend (Redis) did not answer
"""

from __future__ import annotations

import sys

from aihub.core.errors import ServiceUnavailableError


class BackendUnavailableError(ServiceUnavailableError):
    default_message = "A shared backend (Redis) is unavailable"


def redis_errors() -> tuple[type[Exception], ...]:
    """What a Redis call raises when the server (or the cluster) does not
    answer, for an ``except`` clause, without importing redis-py.

    redis-py costs ~20 MiB of memory, and a process with no ``AIHUB_REDIS_URL``
    never loads it (``aihub.infra.redis_client`` is imported only to build a
    client). While no redis-py module is loaded nothing can raise one of its
    errors, so the empty tuple, which catches nothing, is the exact answer.
    Equals ``redis_client.REDIS_ERRORS`` once redis-py is loaded.
    """
    module = sys.modules.get("redis.exceptions")
    if module is None:
        return ()
    return (module.RedisError, module.RedisClusterException)
