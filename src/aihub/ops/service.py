from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from aihub.infra.errors import redis_errors
from aihub.runtime import Runtime

if TYPE_CHECKING:
    from aihub.infra.redis_client import RedisClient

log = structlog.get_logger(__name__)


async def readiness(runtime: Runtime) -> tuple[int, dict[str, Any]]:
    """``/ready``'s status code and body.

    - database unreachable: 503 ``unavailable`` (this process cannot serve);
    - Redis unreachable: 200 ``degraded`` with ``"redis": "unreachable"`` and
      ``"limits": "per-process"``: the process keeps serving (streams go on,
      rate limits are enforced per process), so a load balancer should keep
      it; an operator alerts on ``degraded``;
    - ``media_worker``: ``ok``, ``none_seen`` (no worker heartbeat within
      AIHUB_MEDIA_WORKER_SEEN_TTL_S: media jobs wait; listed in ``warnings``,
      status unchanged) or ``unknown`` (Redis unreachable).
    """
    checks = await check_readiness(runtime.engine, runtime.infra.redis)
    body: dict[str, Any] = {"status": "ok", "checks": checks}
    warnings: list[str] = []
    if checks.get("database") != "ok":
        body["status"] = "unavailable"
    elif checks.get("redis", "ok") != "ok":
        body["status"] = "degraded"
        body["redis"] = "unreachable"
        body["limits"] = "per-process"
        warnings.append(
            "Redis is unreachable: rate limits are enforced per process, "
            "stops and events reach this process only, orphan sweeps are paused"
        )
    seen = await runtime.media.worker_seen()
    body["media_worker"] = {"status": seen.status, "last_seen_s": seen.last_seen_s}
    if seen.warning is not None:
        warnings.append(seen.warning)
    if warnings:
        body["warnings"] = warnings
    return (503 if body["status"] == "unavailable" else 200), body


async def check_readiness(
    engine: AsyncEngine, redis: RedisClient | None
) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("readiness_database_failed", error=str(exc))
        checks["database"] = "unavailable"
    if redis is not None:
        errors: tuple[type[Exception], ...] = (OSError, TimeoutError, *redis_errors())
        try:
            async with asyncio.timeout(3):
                await redis.ping()
            checks["redis"] = "ok"
        except errors as exc:
            log.warning("readiness_redis_failed", error=str(exc))
            checks["redis"] = "unavailable"
    return checks
