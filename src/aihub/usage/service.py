"""Usage statistics of one user from the requests table (seed 003,
"Статистика использования").

- Dates are whole UTC days, both ends inclusive: a day D covers
  [D 00:00, D+1 00:00) UTC. GET /usage defaults to end_date = today (UTC) and
  start_date = end_date - 30 days (the seed's 2024-02-16..2024-03-16).
  start_date after end_date (given or defaulted) is a 422.
- Every row counts as a request: a cached answer (cost 0) and a failed call
  with 0 tokens included. Tokens are total_tokens sums.
- daily_usage lists only the days that have requests, ascending.
- model_usage and provider_summary are ordered by cost desc, then requests
  desc, then name (so the order is stable).
- Costs are rounded to 6 decimals on output; savings to 2.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.usage import repository
from aihub.usage.cost import cache_saving
from aihub.usage.errors import InvalidDateRangeError
from aihub.usage.repository import Totals, Window
from aihub.usage.schemas import (
    AllTimeUsage,
    CacheSavings,
    DailyUsage,
    KeyUsage,
    MemberUsage,
    ModelUsage,
    PeriodCacheSavings,
    PeriodUsage,
    ProviderSummary,
    Savings,
    UsageStatistics,
    UsageSummary,
)
from aihub.users.models import User

SUBSCRIPTION_COST_USD = 20.0
DEFAULT_PERIOD_DAYS = 30
COST_DECIMALS = 6
SAVINGS_DECIMALS = 2


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def day_window(start: dt.date, end: dt.date) -> Window:
    """[start 00:00, end+1 00:00) UTC; open-ended when end is the last date."""
    upper = None if end == dt.date.max else _midnight(end + dt.timedelta(days=1))
    return Window(_midnight(start), upper)


def _cost(value: float) -> float:
    return round(value, COST_DECIMALS)


def resolve_period(
    start_date: dt.date | None, end_date: dt.date | None, *, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The inclusive period GET /usage reports on (defaults in the docstring)."""
    end = end_date if end_date is not None else today
    if start_date is not None:
        start = start_date
    elif end.toordinal() > DEFAULT_PERIOD_DAYS:
        start = end - dt.timedelta(days=DEFAULT_PERIOD_DAYS)
    else:  # end_date in January of year 1: no 30 days before it
        start = dt.date.min
    if start > end:
        raise InvalidDateRangeError(
            f"start_date ({start.isoformat()}) must not be after "
            f"end_date ({end.isoformat()})"
        )
    return start, end


async def get_usage_statistics(
    session: AsyncSession,
    *,
    user: User,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
    today: dt.date | None = None,
    team_id: int | None = None,
) -> UsageStatistics:
    """The caller's usage; with ``team_id`` the team's (its gateway keys'
    calls, whoever made them), per member and per key too: for the team's
    members and administrators only (404 for anyone else)."""
    start, end = resolve_period(start_date, end_date, today=today or today_utc())
    window = day_window(start, end)
    if team_id is not None:
        # teams.service imports this module (team spend): import it here.
        from aihub.teams import service as teams_service

        await teams_service.check_member(session, user=user, team_id=team_id)
    uid = user.id
    totals = await repository.get_totals(
        session, user_id=uid, window=window, team_id=team_id
    )
    days = await repository.list_daily_totals(
        session, user_id=uid, window=window, team_id=team_id
    )
    models = await repository.list_model_totals(
        session, user_id=uid, window=window, team_id=team_id
    )
    providers = await repository.list_provider_totals(
        session, user_id=uid, window=window, team_id=team_id
    )
    model_usage = [
        ModelUsage(
            provider=m.provider,
            model=m.model,
            requests=m.totals.requests,
            tokens=m.totals.tokens,
            cost=_cost(m.totals.cost),
        )
        for m in models
    ]
    model_usage.sort(key=lambda m: (-m.cost, -m.requests, m.provider, m.model))
    provider_summary = [
        ProviderSummary(
            provider=p.provider,
            requests=p.totals.requests,
            tokens=p.totals.tokens,
            cost=_cost(p.totals.cost),
            models_count=p.models_count,
        )
        for p in providers
    ]
    provider_summary.sort(key=lambda p: (-p.cost, -p.requests, p.provider))
    return UsageStatistics(
        start_date=start,
        end_date=end,
        total_requests=totals.requests,
        total_tokens=totals.tokens,
        total_cost=_cost(totals.cost),
        daily_usage=[
            DailyUsage(
                date=d.day,
                requests=d.totals.requests,
                tokens=d.totals.tokens,
                cost=_cost(d.totals.cost),
            )
            for d in days
        ],
        model_usage=model_usage,
        provider_summary=provider_summary,
        **(await _team_breakdown(session, team_id, window) if team_id else {}),
    )


async def _team_breakdown(
    session: AsyncSession, team_id: int, window: Window
) -> dict[str, Any]:
    members = await repository.list_team_member_totals(
        session, team_id=team_id, window=window
    )
    keys = await repository.list_team_key_totals(
        session, team_id=team_id, window=window
    )
    member_usage = [
        MemberUsage(
            user_id=m.user_id,
            username=m.username,
            requests=m.totals.requests,
            tokens=m.totals.tokens,
            cost=_cost(m.totals.cost),
        )
        for m in members
    ]
    member_usage.sort(key=lambda m: (-m.cost, -m.requests, m.user_id))
    key_usage = [
        KeyUsage(
            key_id=k.key_id,
            name=k.name,
            key_prefix=k.key_prefix,
            user_id=k.user_id,
            requests=k.totals.requests,
            tokens=k.totals.tokens,
            cost=_cost(k.totals.cost),
        )
        for k in keys
    ]
    key_usage.sort(key=lambda k: (-k.cost, -k.requests, k.key_id))
    return {"team_id": team_id, "member_usage": member_usage, "key_usage": key_usage}


def _period(start: dt.date, end: dt.date, totals: Totals) -> PeriodUsage:
    return PeriodUsage(
        start_date=start,
        end_date=end,
        requests=totals.requests,
        tokens=totals.tokens,
        cost=_cost(totals.cost),
    )


async def get_usage_summary(
    session: AsyncSession, *, user: User, today: dt.date | None = None
) -> UsageSummary:
    """This UTC month to date, the last 30 days, all time, and what the month
    saved against a SUBSCRIPTION_COST_USD subscription (never negative)."""
    today = today or today_utc()
    month_start = today.replace(day=1)
    last_30_start = today - dt.timedelta(days=DEFAULT_PERIOD_DAYS)
    all_time, (month, last_30) = await repository.get_window_totals(
        session,
        user_id=user.id,
        windows=[day_window(month_start, today), day_window(last_30_start, today)],
    )
    saved = max(0.0, SUBSCRIPTION_COST_USD - month.cost)
    month_cache = await _cache_savings(session, user.id, day_window(month_start, today))
    last_30_cache = await _cache_savings(
        session, user.id, day_window(last_30_start, today)
    )
    return UsageSummary(
        current_month=_period(month_start, today, month),
        last_30_days=_period(last_30_start, today, last_30),
        all_time=AllTimeUsage(
            requests=all_time.requests,
            tokens=all_time.tokens,
            cost=_cost(all_time.cost),
        ),
        savings=Savings(
            vs_subscription=round(saved, SAVINGS_DECIMALS),
            subscription_cost=SUBSCRIPTION_COST_USD,
        ),
        cache_savings=PeriodCacheSavings(
            current_month=month_cache, last_30_days=last_30_cache
        ),
    )


async def _cache_savings(
    session: AsyncSession, user_id: int, window: Window
) -> CacheSavings:
    """What prompt caching and aihub's response cache saved in ``window``."""
    prompt_cache = response_cache = 0.0
    prompt_tokens = responses = 0
    for row in await repository.list_cache_totals(
        session, user_id=user_id, window=window
    ):
        saving = cache_saving(
            row.provider,
            row.model,
            prompt_cache_tokens=row.prompt_cache_read_tokens,
            cached_prompt_tokens=row.cached_prompt_tokens,
            cached_completion_tokens=row.cached_completion_tokens,
        )
        prompt_cache += saving.prompt_cache
        response_cache += saving.response_cache
        prompt_tokens += row.prompt_cache_read_tokens
        responses += row.cached_responses
    return CacheSavings(
        prompt_cache=_cost(prompt_cache),
        response_cache=_cost(response_cache),
        total=_cost(prompt_cache + response_cache),
        prompt_cache_tokens=prompt_tokens,
        cached_responses=responses,
    )


def month_start(now: dt.datetime | None = None) -> dt.datetime:
    """The first instant of the current calendar month, UTC (team budgets)."""
    now = now or dt.datetime.now(dt.UTC)
    return dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC)


async def team_month_spend(
    session: AsyncSession, *, team_ids: list[int], now: dt.datetime | None = None
) -> dict[int, float]:
    """Each team's spend this calendar month (UTC), from the request log."""
    return await repository.sum_team_spend(
        session, team_ids=team_ids, since=month_start(now)
    )
