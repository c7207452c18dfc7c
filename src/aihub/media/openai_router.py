"""POST /v1/images/generations: OpenAI's images API over aihub's media jobs
(the request waits for its job), so the OpenAI SDK's images.generate works.
Errors use OpenAI's shape (the /v1 error handler)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Response

from aihub.core.deps import DbSession
from aihub.files.deps import BaseUrl
from aihub.gateway.deps import GatewayCaller
from aihub.media import service
from aihub.media.deps import Media
from aihub.media.schemas import OpenAIImageRequest, OpenAIImagesResponse

router = APIRouter(tags=["gateway"])

_ERROR = {"description": "OpenAI error shape: {error: {message, type, param, code}}"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: _ERROR for code in (400, 401, 402, 403, 422, 429, 502, 504)
}


@router.post(
    "/v1/images/generations",
    response_model=OpenAIImagesResponse,
    responses=_ERRORS,
    summary="Generate images (OpenAI-compatible; waits for the job)",
)
async def create_images(
    body: OpenAIImageRequest,
    caller: GatewayCaller,
    session: DbSession,
    media: Media,
    base_url: BaseUrl,
) -> Response:
    answer = await service.generate_images(
        session, media, caller=caller, body=body, base_url=base_url
    )
    return Response(orjson.dumps(answer), media_type="application/json")
