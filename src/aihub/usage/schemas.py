"""Wire shapes of /api/statistics (seed 003, section "Статистика использования").

Dates are whole UTC days written YYYY-MM-DD (exactly: "2024-3-1" or a Unix
timestamp is a 422). Costs are USD rounded to 6 decimals; tokens are sums of
total_tokens."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _check_iso_date(value: object) -> object:
    """Only the seed's YYYY-MM-DD; pydantic would also take timestamps."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date in the format YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_check_iso_date)]


class DailyUsage(BaseModel):
    date: dt.date
    requests: int
    tokens: int
    cost: float


class ModelUsage(BaseModel):
    provider: str
    model: str
    requests: int
    tokens: int
    cost: float


class ProviderSummary(BaseModel):
    provider: str
    requests: int
    tokens: int
    cost: float
    models_count: int


class MemberUsage(BaseModel):
    user_id: int
    username: str
    requests: int
    tokens: int
    cost: float


class KeyUsage(BaseModel):
    key_id: int
    name: str
    key_prefix: str
    user_id: int
    requests: int
    tokens: int
    cost: float


class UsageStatistics(BaseModel):
    """GET /api/statistics/usage. daily_usage lists only days with requests."""

    start_date: dt.date
    end_date: dt.date
    total_requests: int
    total_tokens: int
    total_cost: float
    daily_usage: list[DailyUsage]
    model_usage: list[ModelUsage]
    provider_summary: list[ProviderSummary]
    team_id: int | None = None
    """With ?team_id: the figures are the team's (calls of its gateway keys),
    broken down per member and per key below. Absent otherwise."""
    member_usage: list[MemberUsage] | None = None
    key_usage: list[KeyUsage] | None = None


class PeriodUsage(BaseModel):
    start_date: dt.date
    end_date: dt.date
    requests: int
    tokens: int
    cost: float


class AllTimeUsage(BaseModel):
    requests: int
    tokens: int
    cost: float


class Savings(BaseModel):
    vs_subscription: float
    subscription_cost: float


class CacheSavings(BaseModel):
    """What caching saved in one period, in USD at the catalog's prices."""

    prompt_cache: float = Field(
        description="Prompt-cache reads billed at the cached rate instead of the "
        "input rate"
    )
    response_cache: float = Field(
        description="Answers served from aihub's response cache (the call they "
        "replaced, at the model's prices)"
    )
    total: float
    prompt_cache_tokens: int
    cached_responses: int


class PeriodCacheSavings(BaseModel):
    current_month: CacheSavings
    last_30_days: CacheSavings


class UsageSummary(BaseModel):
    """GET /api/statistics/summary."""

    current_month: PeriodUsage
    last_30_days: PeriodUsage
    all_time: AllTimeUsage
    savings: Savings
    cache_savings: PeriodCacheSavings
