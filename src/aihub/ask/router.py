"""Seed 002: POST /api/ask, GET /api/requests/recent, and the admin's view of
every question (GET /api/admin/requests, /api/admin/requests/{id})."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query

from aihub.ask import service
from aihub.ask.schemas import (
    RECENT_DEFAULT,
    RECENT_MAX,
    AdminAskRead,
    AskRead,
    AskRequest,
)
from aihub.auth.deps import AdminUser, CurrentUser
from aihub.chat.deps import Chat
from aihub.core.deps import DbSession
from aihub.core.ids import IdPath, IdQuery
from aihub.core.pagination import Page
from aihub.usage.models import RequestLog

router = APIRouter(tags=["ask"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: _ERROR for code in (400, 402, 404, 429, 502)
}


def _read(row: RequestLog) -> AskRead:
    return AskRead(
        id=row.id,
        question=row.question or "",
        answer=row.answer or "",
        model=row.model,
        created_at=row.created_at,
    )


def _admin_read(row: RequestLog) -> AdminAskRead:
    return AdminAskRead(
        **_read(row).model_dump(),
        user_id=row.user_id,
        provider=row.provider,
        status=row.status,
    )


@router.post(
    "/api/ask",
    response_model=AskRead,
    responses=_ERRORS,
    summary="Ask a question (seed 002)",
)
async def ask(
    body: AskRequest, user: CurrentUser, session: DbSession, chat: Chat
) -> AskRead:
    row = await service.ask(
        session, llm=chat.llm, user=user, body=body, key_wait_s=chat.key_wait_s
    )
    return _read(row)


@router.get(
    "/api/requests/recent",
    response_model=list[AskRead],
    summary="Your latest questions, newest first (3 by default)",
)
async def recent(
    user: CurrentUser,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=RECENT_MAX)] = RECENT_DEFAULT,
) -> list[AskRead]:
    return [_read(row) for row in await service.recent(session, user=user, limit=limit)]


@router.get(
    "/api/admin/requests",
    response_model=list[AdminAskRead],
    tags=["admin"],
    summary="Every user's questions (admin), newest first",
)
async def admin_list(
    _: AdminUser,
    session: DbSession,
    page: Page,
    user_id: IdQuery | None = None,
) -> Sequence[AdminAskRead]:
    rows = await service.list_questions(
        session, user_id=user_id, skip=page.skip, limit=page.limit
    )
    return [_admin_read(row) for row in rows]


@router.get(
    "/api/admin/requests/{request_id}",
    response_model=AdminAskRead,
    responses=_ERRORS,
    tags=["admin"],
    summary="One question (admin)",
)
async def admin_get(
    request_id: IdPath, _: AdminUser, session: DbSession
) -> AdminAskRead:
    return _admin_read(await service.get_question(session, request_id=request_id))
