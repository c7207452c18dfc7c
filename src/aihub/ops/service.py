from __future__ import annotations

import asyncio
from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

log = structlog.get_logger(__name__)


async def check_readiness(state: Any) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(3):
            async with state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("readiness_database_failed", error=str(exc))
        checks["database"] = "unavailable"
    redis = getattr(state, "redis", None)
    if redis is not None:
        try:
            async with asyncio.timeout(3):
                await redis.ping()
            checks["redis"] = "ok"
        except (OSError, TimeoutError, RedisError) as exc:
            log.warning("readiness_redis_failed", error=str(exc))
            checks["redis"] = "unavailable"
    return checks
