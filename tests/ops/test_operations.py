"""Operations: logs, request ids, errors for unknown routes, body limit, CORS, docs."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from aihub.core.settings import Settings
from aihub.main import create_app


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert len(response.headers["x-request-id"]) == 32
    echoed = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"


async def test_log_lines_are_json_with_the_request_id(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(
        settings.model_copy(update={"log_format": "json", "log_level": "INFO"})
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            await c.get("/health", headers={"X-Request-ID": "trace-me-42"})
    lines = [
        json.loads(line)
        for line in capfd.readouterr().err.splitlines()
        if line.startswith("{")
    ]
    finished = [line for line in lines if line.get("event") == "request_finished"]
    assert finished
    assert finished[-1]["request_id"] == "trace-me-42"
    assert finished[-1]["route"] == "/health"
    assert finished[-1]["status"] == 200


async def test_unknown_route_is_not_found_in_the_seed_shape(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"] is True
    assert response.json()["error_type"] == "not_found"


async def test_wrong_method_is_an_error_in_the_seed_shape(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.json()["error"] is True


async def test_body_over_the_limit_is_413_by_content_length(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/users/",
        content=b"x" * (2 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error_type"] == "payload_too_large"


async def test_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def body():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/api/users/", content=body(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error_type"] == "payload_too_large"


async def test_openapi_offers_the_oauth2_password_flow(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    flows = [s["flows"]["password"] for s in schemes.values() if s["type"] == "oauth2"]
    assert flows == [{"scopes": {}, "tokenUrl": "/api/auth/token"}]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text


async def test_cors_allows_configured_origins_only(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"cors_origins": ["https://app.example.com"]})
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            allowed = await c.options(
                "/api/users/me",
                headers={
                    "Origin": "https://app.example.com",
                    "Access-Control-Request-Method": "GET",
                },
            )
            denied = await c.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in denied.headers


def test_cors_origins_parse_from_a_comma_separated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AIHUB_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings(data_dir=tmp_path).cors_origins == [
        "https://a.example",
        "https://b.example",
    ]


def test_sentry_dsn_is_read_from_the_plain_env_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.example/1")
    assert Settings(data_dir=tmp_path).sentry_dsn == "https://key@sentry.example/1"


def test_gc_pauses_are_measured_for_metrics() -> None:
    import gc

    from aihub.core.metrics import GcPauses, HttpMetrics

    metrics = HttpMetrics()
    pauses = GcPauses(metrics)
    pauses.install()
    try:
        gc.collect()
    finally:
        pauses.uninstall()
    gc.collect()  # after uninstall: not counted
    count = metrics.registry.get_sample_value(
        "aihub_gc_pause_seconds_count", {"generation": "2"}
    )
    longest = metrics.registry.get_sample_value("aihub_gc_pause_max_seconds")
    assert count == 1
    assert longest is not None
    assert longest > 0


async def test_a_loop_stops_even_when_a_library_swallows_its_cancellation() -> None:
    import asyncio
    import contextlib

    from aihub.core.tasks import cancel_requested

    turns = 0

    async def swallowing_call() -> None:  # as redis-py can, mid-command
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.01)

    async def loop() -> None:
        nonlocal turns
        while not cancel_requested():
            turns += 1
            await swallowing_call()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.wait_for(task, 2)  # ends by itself instead of hanging
    assert turns > 0
    assert task.done()
