"""/api/admin/audit: the audit log, read-only, for administrators."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from aihub.audit import service
from aihub.audit.models import AuditEntry
from aihub.audit.schemas import AuditEntryRead
from aihub.auth.deps import AdminUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdQuery
from aihub.core.pagination import Page

router = APIRouter(prefix="/api/admin/audit", tags=["admin"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_ADMIN: dict[int | str, dict[str, Any]] = {401: _ERROR, 403: _ERROR}

Action = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z0-9_.]+\*?$",
        description="An action (auth.login.failure), or a prefix ending in * or . "
        "(auth.*)",
    ),
]


@router.get(
    "",
    response_model=list[AuditEntryRead],
    responses=_ADMIN,
    summary="Audit entries, newest first (admin); the total is in X-Total-Count",
    description="Filters: actor (a user id), action, since and until (ISO 8601; "
    "since inclusive, until exclusive). Entries are append-only: no route "
    "changes or deletes them.",
)
async def list_audit(
    _: AdminUser,
    session: DbSession,
    page: Page,
    response: Response,
    actor: IdQuery = None,
    action: Action = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
) -> Sequence[AuditEntry]:
    entries, total = await service.list_entries(
        session,
        skip=page.skip,
        limit=page.limit,
        actor_id=actor,
        action=action,
        since=since,
        until=until,
    )
    response.headers["X-Total-Count"] = str(total)
    return entries


router.add_api_route(
    "/",
    list_audit,
    methods=["GET"],
    response_model=list[AuditEntryRead],
    include_in_schema=False,
)
