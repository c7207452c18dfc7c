"""/ready with Redis away: the process still serves (200, degraded), and says
that rate limits are per process now (issue 12, defect 9)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from aihub.core.settings import Settings
from aihub.main import create_app
from tests.redis_server import REDIS_SERVER, RedisServer

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server")


async def test_ready_is_degraded_not_down_while_redis_is_away(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    del app  # its teardown empties the tables
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        application = create_app(
            settings.model_copy(update={"redis_url": server.url()})
        )
        async with LifespanManager(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://aihub"
            ) as client:
                healthy = await client.get("/ready")
                server.stop()
                away = await client.get("/ready")
                server.start()
                back = await client.get("/ready")
    finally:
        server.stop()
    assert healthy.status_code == 200
    assert healthy.json()["status"] == "ok"
    assert away.status_code == 200
    body = away.json()
    assert body["status"] == "degraded"
    assert body["redis"] == "unreachable"
    assert body["limits"] == "per-process"
    assert body["checks"] == {"database": "ok", "redis": "unavailable"}
    assert body["media_worker"]["status"] == "unknown"
    assert any("per process" in warning for warning in body["warnings"])
    assert back.json()["status"] == "ok"
