"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from aihub.ops import service

router = APIRouter(tags=["operations"])


@router.get("/health", summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="The database (and Redis when configured) answer")
async def ready(request: Request) -> Response:
    checks = await service.check_readiness(request.app.state)
    is_ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if is_ready else "unavailable", "checks": checks}
    return Response(
        orjson.dumps(body),
        status_code=200 if is_ready else 503,
        media_type="application/json",
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry),
        media_type=CONTENT_TYPE_LATEST,
    )
