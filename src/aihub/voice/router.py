"""Seed 001's realtime voice API: POST /api/v1/session, WS /ws/audio,
GET /api/v1/status, POST /api/v1/feedback (JWT or gateway key)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, WebSocket
from starlette.requests import Request

from aihub.auth.deps import AdminUser
from aihub.core.deps import DbSession
from aihub.core.pagination import Page
from aihub.voice import connection, service, status
from aihub.voice.deps import Voice, VoiceCaller
from aihub.voice.models import VoiceFeedback, VoiceSession
from aihub.voice.schemas import (
    FeedbackCreate,
    FeedbackRead,
    SessionCreate,
    SessionCreated,
    SessionRead,
    TokenRead,
    VoiceStatus,
)

router = APIRouter(prefix="/api/v1", tags=["voice"])
socket_router = APIRouter(tags=["voice"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: _ERROR for code in (400, 404, 410, 422, 429)
}
SessionId = Annotated[str, Path(min_length=1, max_length=36)]


def _base_url(request: Request) -> str:
    return str(request.base_url)


@router.post(
    "/session",
    status_code=201,
    response_model=SessionCreated,
    responses=_ERRORS,
    summary="Create a voice session: its WebSocket URL and expiry",
)
async def create_session(
    body: SessionCreate,
    principal: VoiceCaller,
    voice: Voice,
    session: DbSession,
    request: Request,
) -> SessionCreated:
    key = principal.caller.key
    return await service.create_session(
        session,
        voice,
        user=principal.user,
        gateway_key_id=principal.caller.gateway_key_id,
        gateway_rpm=key.rpm if key is not None else None,
        gateway_key=key,
        data=body,
        base_url=_base_url(request),
    )


@router.get(
    "/session/{session_id}",
    response_model=SessionRead,
    responses=_ERRORS,
    summary="A voice session of the caller",
)
async def get_session(
    session_id: SessionId, principal: VoiceCaller, session: DbSession
) -> VoiceSession:
    return await service.get_session(
        session, user_id=principal.user.id, session_id=session_id
    )


@router.post(
    "/session/{session_id}/token",
    response_model=TokenRead,
    responses=_ERRORS,
    summary="A fresh WebSocket URL for a session (to resume after a drop)",
)
async def issue_token(
    session_id: SessionId,
    principal: VoiceCaller,
    voice: Voice,
    session: DbSession,
    request: Request,
) -> TokenRead:
    return await service.issue_token(
        session,
        voice,
        user_id=principal.user.id,
        session_id=session_id,
        base_url=_base_url(request),
    )


@router.delete(
    "/session/{session_id}",
    status_code=204,
    responses=_ERRORS,
    summary="End a voice session",
)
async def end_session(
    session_id: SessionId, principal: VoiceCaller, voice: Voice, session: DbSession
) -> Response:
    await service.end_session(
        session, voice, user_id=principal.user.id, session_id=session_id
    )
    return Response(status_code=204)


@router.get(
    "/status",
    response_model=VoiceStatus,
    summary="Health, live sessions, per-stage latency percentiles, error rates",
)
async def get_status(
    principal: VoiceCaller, voice: Voice, session: DbSession
) -> VoiceStatus:
    del principal  # any authenticated caller
    return await status.voice_status(session, voice)


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackRead,
    responses=_ERRORS,
    summary="Rate a session or one of its turns",
)
async def add_feedback(
    body: FeedbackCreate, principal: VoiceCaller, session: DbSession
) -> VoiceFeedback:
    return await service.add_feedback(session, user=principal.user, data=body)


@router.get(
    "/feedback",
    response_model=list[FeedbackRead],
    summary="Every user's feedback, newest first (admins)",
)
async def list_feedback(
    admin: AdminUser,
    session: DbSession,
    page: Page,
    session_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[VoiceFeedback]:
    del admin
    return await service.list_feedback(session, page=page, session_id=session_id)


@socket_router.websocket("/ws/audio")
async def audio_socket(
    websocket: WebSocket,
    voice: Voice,
    token: Annotated[str | None, Query(max_length=4096)] = None,
    session_id: Annotated[str | None, Query(max_length=36)] = None,
) -> None:
    await connection.serve_socket(websocket, voice, token=token, session_id=session_id)
