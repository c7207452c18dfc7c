"""/api/files: seed 004's image upload, and serving stored files to their owner."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import FileResponse, Response

from aihub.core.deps import AppSettings, DbSession
from aihub.core.pagination import Page
from aihub.files import service
from aihub.files.deps import BaseUrl, Blobs
from aihub.files.schemas import StoredFileRead, UploadRead
from aihub.gateway.deps import GatewayCaller

router = APIRouter(prefix="/api/files", tags=["files"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ERRORS: dict[int | str, dict[str, Any]] = {code: _ERROR for code in (404, 413, 422)}
Token = Annotated[str, Path(pattern=service.TOKEN_PATTERN)]


@router.post(
    "/upload",
    response_model=UploadRead,
    responses=_ERRORS,
    summary="Upload an image (jpg, jpeg, png, gif, webp) to use in requests",
)
async def upload_file(
    file: Annotated[UploadFile, File()],
    caller: GatewayCaller,
    session: DbSession,
    blobs: Blobs,
    base_url: BaseUrl,
    settings: AppSettings,
) -> UploadRead:
    data = await file.read(settings.max_upload_bytes + 1)
    row = await service.upload_image(
        session,
        blobs,
        user_id=caller.user_id,
        filename=file.filename,
        data=data,
        max_bytes=settings.max_upload_bytes,
    )
    return UploadRead(image_url=service.file_url(row.token, base_url))


@router.get("/", response_model=list[StoredFileRead], summary="List your files")
async def list_files(
    caller: GatewayCaller, session: DbSession, page: Page, base_url: BaseUrl
) -> list[StoredFileRead]:
    rows = await service.list_files(
        session, user_id=caller.user_id, skip=page.skip, limit=page.limit
    )
    return [service.describe(row, base_url) for row in rows]


@router.get(
    "/{token}",
    response_class=FileResponse,
    responses={200: {"content": {"image/png": {}, "video/mp4": {}}}, **_ERRORS},
    summary="Download one of your files",
)
async def get_file(
    token: Token, caller: GatewayCaller, session: DbSession, blobs: Blobs
) -> Response:
    row = await service.get_file(session, user_id=caller.user_id, token=token)
    path = blobs.local_path(row.storage_key)
    headers = {"Cache-Control": "private, max-age=31536000, immutable"}
    if path is None:
        data = await service.read_file(blobs, row)
        return Response(data, media_type=row.media_type, headers=headers)
    return FileResponse(
        path,
        media_type=row.media_type,
        filename=row.filename,
        content_disposition_type="inline",
        headers=headers,
    )
