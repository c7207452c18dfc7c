"""/api/statistics: the caller's usage and cost (seed 003, section
"Статистика использования"). Figures come from the requests table."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aihub.auth.deps import CurrentUser
from aihub.core.deps import DbSession
from aihub.core.ids import IdQuery
from aihub.usage import service
from aihub.usage.schemas import IsoDate, UsageStatistics, UsageSummary

router = APIRouter(prefix="/api/statistics", tags=["statistics"])

_ERROR = {"description": "Error in the seed shape: error, error_message, error_type"}
_AUTH: dict[int | str, dict[str, Any]] = {401: _ERROR}
_DATES: dict[int | str, dict[str, Any]] = {401: _ERROR, 422: _ERROR}


@router.get(
    "/usage",
    response_model=UsageStatistics,
    response_model_exclude_none=True,
    responses={**_DATES, 404: _ERROR},
    summary="Usage statistics for a period",
    description=(
        "Inclusive UTC days; default the last 30 days ending today. daily_usage "
        "lists only days with requests; model_usage and provider_summary are "
        "ordered by cost desc, then requests desc. With team_id: the team's "
        "calls (through its gateway keys) with member_usage and key_usage, for "
        "the team's members and administrators (404 otherwise)."
    ),
)
async def get_usage_statistics(
    user: CurrentUser,
    session: DbSession,
    start_date: Annotated[IsoDate | None, Query(description="YYYY-MM-DD")] = None,
    end_date: Annotated[IsoDate | None, Query(description="YYYY-MM-DD")] = None,
    team_id: Annotated[IdQuery, Query(description="A team of yours")] = None,
) -> UsageStatistics:
    return await service.get_usage_statistics(
        session,
        user=user,
        start_date=start_date,
        end_date=end_date,
        team_id=team_id,
    )


@router.get(
    "/summary",
    response_model=UsageSummary,
    responses=_AUTH,
    summary="Usage summary: this month, last 30 days, all time",
    description="savings.vs_subscription = max(0, subscription_cost - month cost).",
)
async def get_usage_summary(user: CurrentUser, session: DbSession) -> UsageSummary:
    return await service.get_usage_summary(session, user=user)
