"""Aggregate queries on the requests table for the statistics endpoints.

Every query filters by user_id and a half-open created_at range
[start, end) so the (user_id, created_at) index serves it. Grouping by day
uses the UTC calendar date on both engines: SQLite stores the UTC timestamp
as text (date() reads it), PostgreSQL's timestamptz is converted to UTC
explicitly so the server's TimeZone setting does not move rows between days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    case,
    cast,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from aihub.gateway.models import GatewayKey
from aihub.usage.models import RequestLog
from aihub.users.models import User


@dataclass(frozen=True, slots=True)
class Totals:
    requests: int = 0
    tokens: int = 0
    cost: float = 0.0


@dataclass(frozen=True, slots=True)
class DayTotals:
    day: dt.date
    totals: Totals


@dataclass(frozen=True, slots=True)
class ModelTotals:
    provider: str
    model: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class CacheTotals:
    """One model's cache figures in a window: prompt-cache reads on calls that
    went to the provider, and the token counts of answers served from aihub's
    response cache (those calls cost nothing)."""

    provider: str
    model: str
    prompt_cache_read_tokens: int = 0
    cached_responses: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class ProviderTotals:
    provider: str
    models_count: int
    totals: Totals


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC range; None on a side means unbounded."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


def _aggregates() -> tuple[ColumnElement[Any], ...]:
    return (
        func.count(RequestLog.id),
        func.coalesce(func.sum(RequestLog.total_tokens), 0),
        func.coalesce(func.sum(RequestLog.cost), 0.0),
    )


def _totals(requests: Any, tokens: Any, cost: Any) -> Totals:
    return Totals(int(requests or 0), int(tokens or 0), float(cost or 0.0))


def _in_window(window: Window) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if window.start is not None:
        conditions.append(RequestLog.created_at >= window.start)
    if window.end is not None:
        conditions.append(RequestLog.created_at < window.end)
    return conditions


def _filters(
    user_id: int | None, window: Window, team_id: int | None = None
) -> list[ColumnElement[bool]]:
    """One user's calls, or (team_id) the calls of a team's gateway keys."""
    if team_id is not None:
        keys = select(GatewayKey.id).where(GatewayKey.team_id == team_id)
        return [RequestLog.gateway_key_id.in_(keys), *_in_window(window)]
    return [RequestLog.user_id == user_id, *_in_window(window)]


def _utc_day(session: AsyncSession) -> ColumnElement[Any]:
    """The UTC calendar day of created_at, portable across our two engines."""
    if session.get_bind().dialect.name == "postgresql":
        # A literal (not a bind parameter) so GROUP BY matches the SELECT item.
        utc = func.timezone(literal_column("'UTC'"), RequestLog.created_at)
        return cast(utc, Date)
    return func.date(RequestLog.created_at)


def _as_date(value: Any) -> dt.date:
    """SQLite returns 'YYYY-MM-DD' text, asyncpg a date: one type for both."""
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


async def get_totals(
    session: AsyncSession,
    *,
    user_id: int | None,
    window: Window,
    team_id: int | None = None,
) -> Totals:
    stmt = select(*_aggregates()).where(*_filters(user_id, window, team_id))
    row = (await session.execute(stmt)).one()
    return _totals(*row)


async def list_daily_totals(
    session: AsyncSession,
    *,
    user_id: int | None,
    window: Window,
    team_id: int | None = None,
) -> list[DayTotals]:
    """Only days that have requests, ascending."""
    day = _utc_day(session).label("day")
    stmt = (
        select(day, *_aggregates())
        .where(*_filters(user_id, window, team_id))
        .group_by(day)
        .order_by(day)
    )
    rows = (await session.execute(stmt)).all()
    return [DayTotals(_as_date(r[0]), _totals(r[1], r[2], r[3])) for r in rows]


async def list_model_totals(
    session: AsyncSession,
    *,
    user_id: int | None,
    window: Window,
    team_id: int | None = None,
) -> list[ModelTotals]:
    stmt = (
        select(RequestLog.provider, RequestLog.model, *_aggregates())
        .where(*_filters(user_id, window, team_id))
        .group_by(RequestLog.provider, RequestLog.model)
    )
    rows = (await session.execute(stmt)).all()
    return [ModelTotals(r[0], r[1], _totals(r[2], r[3], r[4])) for r in rows]


async def list_provider_totals(
    session: AsyncSession,
    *,
    user_id: int | None,
    window: Window,
    team_id: int | None = None,
) -> list[ProviderTotals]:
    stmt = (
        select(
            RequestLog.provider,
            func.count(func.distinct(RequestLog.model)),
            *_aggregates(),
        )
        .where(*_filters(user_id, window, team_id))
        .group_by(RequestLog.provider)
    )
    rows = (await session.execute(stmt)).all()
    return [ProviderTotals(r[0], int(r[1]), _totals(r[2], r[3], r[4])) for r in rows]


async def get_window_totals(
    session: AsyncSession, *, user_id: int, windows: list[Window]
) -> tuple[Totals, list[Totals]]:
    """All-time totals plus the totals of each bounded window, in one scan."""
    columns: list[ColumnElement[Any]] = list(_aggregates())
    for window in windows:
        inside = and_(true(), *_in_window(window))
        columns += [
            func.coalesce(func.sum(case((inside, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((inside, RequestLog.total_tokens), else_=0)), 0
            ),
            func.coalesce(func.sum(case((inside, RequestLog.cost), else_=0.0)), 0.0),
        ]
    stmt = select(*columns).where(RequestLog.user_id == user_id)
    row = (await session.execute(stmt)).one()
    all_time = _totals(*row[:3])
    per_window = [_totals(*row[3 + 3 * i : 6 + 3 * i]) for i in range(len(windows))]
    return all_time, per_window


async def list_cache_totals(
    session: AsyncSession, *, user_id: int, window: Window
) -> list[CacheTotals]:
    """Per (provider, model), the cache figures of ``window`` (models with no
    cache use are left out)."""
    hit = RequestLog.is_cached.is_(True)
    stmt = (
        select(
            RequestLog.provider,
            RequestLog.model,
            func.coalesce(func.sum(case((hit, 0), else_=RequestLog.cached_tokens)), 0),
            func.coalesce(func.sum(case((hit, 1), else_=0)), 0),
            func.coalesce(func.sum(case((hit, RequestLog.prompt_tokens), else_=0)), 0),
            func.coalesce(
                func.sum(case((hit, RequestLog.completion_tokens), else_=0)), 0
            ),
        )
        .where(
            *_filters(user_id, window),
            (RequestLog.cached_tokens > 0) | hit,
        )
        .group_by(RequestLog.provider, RequestLog.model)
        .order_by(RequestLog.provider, RequestLog.model)
    )
    rows = (await session.execute(stmt)).all()
    return [
        CacheTotals(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]))
        for r in rows
    ]


async def sum_team_spend(
    session: AsyncSession, *, team_ids: list[int], since: dt.datetime
) -> dict[int, float]:
    """What each team's gateway keys cost since ``since`` (teams with none: absent).
    A key's team never changes, so joining the key gives the team of its calls."""
    if not team_ids:
        return {}
    stmt = (
        select(GatewayKey.team_id, func.coalesce(func.sum(RequestLog.cost), 0.0))
        .join(GatewayKey, GatewayKey.id == RequestLog.gateway_key_id)
        .where(GatewayKey.team_id.in_(team_ids), RequestLog.created_at >= since)
        .group_by(GatewayKey.team_id)
    )
    rows = (await session.execute(stmt)).all()
    return {int(team_id): float(cost) for team_id, cost in rows if team_id is not None}


@dataclass(frozen=True, slots=True)
class MemberTotals:
    user_id: int
    username: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class KeyTotals:
    key_id: int
    name: str
    key_prefix: str
    user_id: int
    totals: Totals


async def list_team_member_totals(
    session: AsyncSession, *, team_id: int, window: Window
) -> list[MemberTotals]:
    """Per user, the calls of the team's keys in ``window``."""
    stmt = (
        select(RequestLog.user_id, User.username, *_aggregates())
        .join(User, User.id == RequestLog.user_id)
        .where(*_filters(None, window, team_id))
        .group_by(RequestLog.user_id, User.username)
    )
    rows = (await session.execute(stmt)).all()
    return [MemberTotals(r[0], r[1], _totals(r[2], r[3], r[4])) for r in rows]


async def list_team_key_totals(
    session: AsyncSession, *, team_id: int, window: Window
) -> list[KeyTotals]:
    """Per gateway key of the team, its calls in ``window``."""
    stmt = (
        select(
            GatewayKey.id,
            GatewayKey.name,
            GatewayKey.key_prefix,
            GatewayKey.user_id,
            *_aggregates(),
        )
        .join(GatewayKey, GatewayKey.id == RequestLog.gateway_key_id)
        .where(*_filters(None, window, team_id))
        .group_by(
            GatewayKey.id, GatewayKey.name, GatewayKey.key_prefix, GatewayKey.user_id
        )
    )
    rows = (await session.execute(stmt)).all()
    return [KeyTotals(r[0], r[1], r[2], r[3], _totals(r[4], r[5], r[6])) for r in rows]
