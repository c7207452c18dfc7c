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


@router.get(
    "/ready",
    summary="The database answers (503 if not); Redis away: 200 degraded",
)
async def ready(request: Request) -> Response:
    status_code, body = await service.readiness(request.app.state)
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json"
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry),
        media_type=CONTENT_TYPE_LATEST,
    )
