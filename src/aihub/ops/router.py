"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from aihub.ops import service
from aihub.runtime import RuntimeDep

router = APIRouter(tags=["operations"])


@router.get("/health", summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="The database answers (503 if not); Redis away: 200 degraded",
)
async def ready(runtime: RuntimeDep) -> Response:
    status_code, body = await service.readiness(runtime)
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json"
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(runtime: RuntimeDep) -> Response:
    return Response(
        generate_latest(runtime.metrics.registry),
        media_type=CONTENT_TYPE_LATEST,
    )
