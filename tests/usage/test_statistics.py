"""GET /api/statistics/usage and /summary (seed 003, "Статистика использования").

Rows go straight into the requests table through the app's sessionmaker; the
service's clock (today_utc) is pinned to 2024-03-16 unless a test checks the
real default."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from aihub.runtime import runtime_of
from aihub.usage import repository, service
from aihub.usage.models import RequestLog
from tests.factories import Account, make_user

TODAY = dt.date(2024, 3, 16)


def at(day: str, clock: str = "12:00:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{clock}+00:00")


async def add_rows(app: FastAPI, user: Account, *rows: dict[str, Any]) -> None:
    async with runtime_of(app).sessionmaker() as session:
        for row in rows:
            values = {"provider": "openai", "model": "gpt-4o", **row}
            session.add(RequestLog(user_id=user.id, **values))
        await session.commit()


@pytest.fixture
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    monkeypatch.setattr(service, "today_utc", lambda: TODAY)
    return TODAY


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> Account:
    return await make_user(client)


# Alice's rows for the period 2024-03-01..2024-03-10, with one on each side.
PERIOD_ROWS: list[dict[str, Any]] = [
    # outside, one microsecond before the start day
    {"created_at": at("2024-02-29", "23:59:59.999999"), "total_tokens": 1000,
     "cost": 9.0},
    # the start day, at its first instant
    {"created_at": at("2024-03-01", "00:00:00"), "total_tokens": 100, "cost": 0.5},
    {"created_at": at("2024-03-01"), "provider": "anthropic",
     "model": "claude-3-opus", "total_tokens": 200, "cost": 0.25},
    {"created_at": at("2024-03-05", "08:00:00"), "total_tokens": 50,
     "cost": 0.1234567},
    # a cached answer: a request at cost 0
    {"created_at": at("2024-03-05", "09:00:00"), "model": "gpt-4o-mini",
     "total_tokens": 30, "cost": 0.0, "is_cached": True},
    # a failed call with no tokens still counts
    {"created_at": at("2024-03-05", "10:00:00"), "status": "error",
     "error_type": "api_error"},
    # the end day, at its last instant
    {"created_at": at("2024-03-10", "23:59:59.999999"), "provider": "anthropic",
     "model": "claude-3-opus", "total_tokens": 400, "cost": 0.75},
    # outside, the first instant after the end day
    {"created_at": at("2024-03-11", "00:00:00"), "provider": "anthropic",
     "model": "claude-3-opus", "total_tokens": 1000, "cost": 9.0},
]  # fmt: skip

PERIOD_EXPECTED: dict[str, Any] = {
    "start_date": "2024-03-01",
    "end_date": "2024-03-10",
    "total_requests": 6,
    "total_tokens": 780,
    "total_cost": 1.623457,
    "daily_usage": [
        {"date": "2024-03-01", "requests": 2, "tokens": 300, "cost": 0.75},
        {"date": "2024-03-05", "requests": 3, "tokens": 80, "cost": 0.123457},
        {"date": "2024-03-10", "requests": 1, "tokens": 400, "cost": 0.75},
    ],
    "model_usage": [
        {"provider": "anthropic", "model": "claude-3-opus", "requests": 2,
         "tokens": 600, "cost": 1.0},
        {"provider": "openai", "model": "gpt-4o", "requests": 3, "tokens": 150,
         "cost": 0.623457},
        {"provider": "openai", "model": "gpt-4o-mini", "requests": 1, "tokens": 30,
         "cost": 0.0},
    ],
    "provider_summary": [
        {"provider": "anthropic", "requests": 2, "tokens": 600, "cost": 1.0,
         "models_count": 1},
        {"provider": "openai", "requests": 4, "tokens": 180, "cost": 0.623457,
         "models_count": 2},
    ],
}  # fmt: skip

EMPTY_TOTALS = {
    "total_requests": 0,
    "total_tokens": 0,
    "total_cost": 0.0,
    "daily_usage": [],
    "model_usage": [],
    "provider_summary": [],
}


async def get_usage(
    client: httpx.AsyncClient, user: Account, **params: str
) -> httpx.Response:
    return await client.get(
        "/api/statistics/usage", params=params, headers=user.headers
    )


async def test_usage_for_a_period_counts_every_row_in_it(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
) -> None:
    await add_rows(app, alice, *PERIOD_ROWS)
    await add_rows(app, bob, {"created_at": at("2024-03-05"), "total_tokens": 7777,
                              "cost": 5.0})  # fmt: skip

    response = await get_usage(
        client, alice, start_date="2024-03-01", end_date="2024-03-10"
    )

    assert response.status_code == 200, response.text
    assert response.json() == PERIOD_EXPECTED


async def test_usage_is_only_the_callers(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, bob: Account
) -> None:
    await add_rows(app, alice, *PERIOD_ROWS)
    await add_rows(app, bob, {"created_at": at("2024-03-05"), "model": "gpt-4",
                              "total_tokens": 7777, "cost": 5.0})  # fmt: skip
    params = {"start_date": "2024-03-01", "end_date": "2024-03-10"}

    bobs = (await get_usage(client, bob, **params)).json()
    carol = await make_user(client)
    carols = (await get_usage(client, carol, **params)).json()

    assert bobs == {
        "start_date": "2024-03-01",
        "end_date": "2024-03-10",
        "total_requests": 1,
        "total_tokens": 7777,
        "total_cost": 5.0,
        "daily_usage": [
            {"date": "2024-03-05", "requests": 1, "tokens": 7777, "cost": 5.0}
        ],
        "model_usage": [
            {"provider": "openai", "model": "gpt-4", "requests": 1, "tokens": 7777,
             "cost": 5.0}
        ],
        "provider_summary": [
            {"provider": "openai", "requests": 1, "tokens": 7777, "cost": 5.0,
             "models_count": 1}
        ],
    }  # fmt: skip
    assert carols == {"start_date": "2024-03-01", "end_date": "2024-03-10",
                      **EMPTY_TOTALS}  # fmt: skip
    # Alice's figures are untouched by Bob's row.
    alices = (await get_usage(client, alice, **params)).json()
    assert alices == PERIOD_EXPECTED


async def test_a_single_day_period(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    await add_rows(app, alice, *PERIOD_ROWS)

    body = (
        await get_usage(client, alice, start_date="2024-03-10", end_date="2024-03-10")
    ).json()

    assert body["total_requests"] == 1
    assert body["total_tokens"] == 400
    assert body["total_cost"] == 0.75
    assert body["daily_usage"] == [
        {"date": "2024-03-10", "requests": 1, "tokens": 400, "cost": 0.75}
    ]


async def test_model_ties_on_cost_are_ordered_by_requests(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    day = at("2024-03-05")
    await add_rows(
        app,
        alice,
        {"created_at": day, "model": "a-one", "total_tokens": 1, "cost": 0.2},
        {"created_at": day, "model": "b-two", "total_tokens": 1, "cost": 0.1},
        {"created_at": day, "model": "b-two", "total_tokens": 1, "cost": 0.1},
        {"created_at": day, "provider": "qwen", "model": "q", "cost": 0.5},
        {"created_at": day, "provider": "azure", "model": "z", "cost": 0.0},
    )

    body = (
        await get_usage(client, alice, start_date="2024-03-05", end_date="2024-03-05")
    ).json()

    assert [(m["model"], m["requests"], m["cost"]) for m in body["model_usage"]] == [
        ("q", 1, 0.5),
        ("b-two", 2, 0.2),
        ("a-one", 1, 0.2),
        ("z", 1, 0.0),
    ]
    assert [
        (p["provider"], p["requests"], p["cost"], p["models_count"])
        for p in body["provider_summary"]
    ] == [("qwen", 1, 0.5, 1), ("openai", 3, 0.4, 2), ("azure", 1, 0.0, 1)]


async def test_usage_defaults_to_the_last_30_days(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, pinned_today: dt.date
) -> None:
    await add_rows(
        app,
        alice,
        {"created_at": at("2024-02-14", "23:59:59"), "total_tokens": 1, "cost": 1.0},
        {"created_at": at("2024-02-15", "00:00:00"), "total_tokens": 2, "cost": 0.5},
        {"created_at": at("2024-03-16", "23:59:59"), "total_tokens": 4, "cost": 0.25},
        {"created_at": at("2024-03-17", "00:00:00"), "total_tokens": 8, "cost": 1.0},
    )

    body = (await get_usage(client, alice)).json()

    assert body["start_date"] == "2024-02-15"
    assert body["end_date"] == "2024-03-16"
    assert (body["total_requests"], body["total_tokens"], body["total_cost"]) == (
        2,
        6,
        0.75,
    )
    assert [d["date"] for d in body["daily_usage"]] == ["2024-02-15", "2024-03-16"]


async def test_usage_with_one_date_given(
    client: httpx.AsyncClient, app: FastAPI, alice: Account, pinned_today: dt.date
) -> None:
    await add_rows(app, alice, *PERIOD_ROWS)

    only_start = (await get_usage(client, alice, start_date="2024-03-05")).json()
    only_end = (await get_usage(client, alice, end_date="2024-03-01")).json()

    # end_date defaults to today; start_date to end_date - 30 days.
    assert (only_start["start_date"], only_start["end_date"]) == (
        "2024-03-05",
        "2024-03-16",
    )
    assert (only_start["total_requests"], only_start["total_tokens"]) == (5, 1480)
    assert (only_end["start_date"], only_end["end_date"]) == (
        "2024-01-31",
        "2024-03-01",
    )
    assert (only_end["total_requests"], only_end["total_tokens"]) == (3, 1300)
    assert only_end["total_cost"] == 9.75


async def test_usage_default_follows_the_real_clock(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    before = dt.datetime.now(dt.UTC)
    await add_rows(app, alice, {"created_at": before, "total_tokens": 3, "cost": 0.1})

    body = (await get_usage(client, alice)).json()
    after = dt.datetime.now(dt.UTC).date()

    end = dt.date.fromisoformat(body["end_date"])
    assert end in {before.date(), after}
    assert dt.date.fromisoformat(body["start_date"]) == end - dt.timedelta(days=30)
    if end == before.date():
        assert body["total_requests"] == 1
        assert body["daily_usage"] == [
            {"date": end.isoformat(), "requests": 1, "tokens": 3, "cost": 0.1}
        ]


async def test_the_widest_period_is_not_an_error(
    client: httpx.AsyncClient, app: FastAPI, alice: Account
) -> None:
    await add_rows(app, alice, *PERIOD_ROWS)

    response = await get_usage(
        client, alice, start_date="0001-01-01", end_date="9999-12-31"
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total_requests"], body["total_tokens"]) == (8, 2780)
    assert body["total_cost"] == 19.623457
    assert len(body["daily_usage"]) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2024-03-10", "end_date": "2024-03-09"},
        {"start_date": "2024-03-17"},  # after the default end (today)
        {"start_date": "2024-3-1"},
        {"end_date": "2024-02-30"},
        {"start_date": "yesterday"},
        {"start_date": "1709251200"},
        {"end_date": "0000-01-01"},
        {"start_date": "2024-03-01T00:00:00"},
        {"end_date": ""},
    ],
)
async def test_invalid_dates_are_a_seed_shaped_422(
    client: httpx.AsyncClient,
    alice: Account,
    pinned_today: dt.date,
    params: dict[str, str],
) -> None:
    response = await get_usage(client, alice, **params)

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == "validation_error"
    assert isinstance(body["error_message"], str)
    assert body["error_message"]


@pytest.mark.parametrize("path", ["/api/statistics/usage", "/api/statistics/summary"])
async def test_statistics_need_a_token(client: httpx.AsyncClient, path: str) -> None:
    anonymous = await client.get(path)
    forged = await client.get(path, headers={"Authorization": "Bearer nope"})

    for response in (anonymous, forged):
        assert response.status_code == 401
        body = response.json()
        assert body["error"] is True
        assert body["error_type"] == "unauthorized"


SUMMARY_ROWS: list[dict[str, Any]] = [
    {"created_at": at("2023-01-01"), "model": "gpt-4", "total_tokens": 1000,
     "cost": 3.0},
    {"created_at": at("2024-02-14", "23:59:59"), "total_tokens": 10, "cost": 0.01},
    {"created_at": at("2024-02-15", "00:00:00"), "total_tokens": 20, "cost": 0.02},
    {"created_at": at("2024-02-29", "23:59:59"), "total_tokens": 40, "cost": 0.04},
    {"created_at": at("2024-03-01", "00:00:00"), "provider": "anthropic",
     "model": "claude-3-opus", "total_tokens": 80, "cost": 1.5},
    {"created_at": at("2024-03-16", "12:00:00"), "total_tokens": 5, "cost": 0.0,
     "is_cached": True},
    {"created_at": at("2024-03-16", "23:59:59"), "total_tokens": 160,
     "cost": 0.3333333},
    {"created_at": at("2024-03-17", "00:00:00"), "total_tokens": 320, "cost": 0.5},
]  # fmt: skip


def no_cache_savings(cached_responses: int = 0) -> dict[str, Any]:
    return {"prompt_cache": 0.0, "response_cache": 0.0, "total": 0.0,
            "prompt_cache_tokens": 0, "cached_responses": cached_responses}  # fmt: skip


async def get_summary(client: httpx.AsyncClient, user: Account) -> Any:
    response = await client.get("/api/statistics/summary", headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_summary_figures(
    client: httpx.AsyncClient,
    app: FastAPI,
    alice: Account,
    bob: Account,
    pinned_today: dt.date,
) -> None:
    await add_rows(app, alice, *SUMMARY_ROWS)
    await add_rows(app, bob, {"created_at": at("2024-03-10"), "cost": 25.0,
                              "total_tokens": 9})  # fmt: skip

    assert await get_summary(client, alice) == {
        "current_month": {
            "start_date": "2024-03-01",
            "end_date": "2024-03-16",
            "requests": 3,
            "tokens": 245,
            "cost": 1.833333,
        },
        "last_30_days": {
            "start_date": "2024-02-15",
            "end_date": "2024-03-16",
            "requests": 5,
            "tokens": 305,
            "cost": 1.893333,
        },
        "all_time": {"requests": 8, "tokens": 1635, "cost": 5.403333},
        "savings": {"vs_subscription": 18.17, "subscription_cost": 20.0},
        # the cached answer's row has no token split: nothing to price
        "cache_savings": {"current_month": no_cache_savings(1),
                          "last_30_days": no_cache_savings(1)},
    }  # fmt: skip


async def test_summary_is_only_the_callers_and_savings_never_negative(
    client: httpx.AsyncClient,
    app: FastAPI,
    alice: Account,
    bob: Account,
    pinned_today: dt.date,
) -> None:
    await add_rows(app, alice, *SUMMARY_ROWS)
    await add_rows(app, bob, {"created_at": at("2024-03-10"), "cost": 25.0,
                              "total_tokens": 9})  # fmt: skip
    carol = await make_user(client)

    bobs = await get_summary(client, bob)
    carols = await get_summary(client, carol)

    assert bobs["current_month"]["requests"] == 1
    assert bobs["current_month"]["cost"] == 25.0
    assert bobs["last_30_days"]["tokens"] == 9
    assert bobs["all_time"] == {"requests": 1, "tokens": 9, "cost": 25.0}
    assert bobs["savings"] == {"vs_subscription": 0.0, "subscription_cost": 20.0}
    assert carols == {
        "current_month": {"start_date": "2024-03-01", "end_date": "2024-03-16",
                          "requests": 0, "tokens": 0, "cost": 0.0},
        "last_30_days": {"start_date": "2024-02-15", "end_date": "2024-03-16",
                         "requests": 0, "tokens": 0, "cost": 0.0},
        "all_time": {"requests": 0, "tokens": 0, "cost": 0.0},
        "savings": {"vs_subscription": 20.0, "subscription_cost": 20.0},
        "cache_savings": {"current_month": no_cache_savings(),
                          "last_30_days": no_cache_savings()},
    }  # fmt: skip
    assert (await get_summary(client, alice))["all_time"]["requests"] == 8


async def test_summary_cache_savings_at_catalog_prices(
    client: httpx.AsyncClient,
    app: FastAPI,
    alice: Account,
    bob: Account,
    pinned_today: dt.date,
) -> None:
    """gpt-4o: input $2.50, cached input $1.25, output $10 per 1M tokens."""
    await add_rows(
        app,
        alice,
        # prompt-cache reads this month: 400k x (2.50 - 1.25) / 1M = $0.50
        {"created_at": at("2024-03-02"), "prompt_tokens": 500_000,
         "cached_tokens": 400_000, "cost": 0.875},
        # an answer from aihub's response cache: the call it replaced,
        # 100k x 2.50 / 1M + 50k x 10 / 1M = $0.75
        {"created_at": at("2024-03-03"), "prompt_tokens": 100_000,
         "completion_tokens": 50_000, "cost": 0.0, "is_cached": True},
        # a model without a catalog price: its tokens count, its saving is 0
        {"created_at": at("2024-03-04"), "provider": "openai_compatible",
         "model": "local-llama", "prompt_tokens": 2000, "cached_tokens": 1000},
        # last month, inside the last 30 days: 800k x 1.25 / 1M = $1.00
        {"created_at": at("2024-02-20"), "prompt_tokens": 800_000,
         "cached_tokens": 800_000},
        # before the last 30 days: in neither period
        {"created_at": at("2024-01-02"), "cached_tokens": 900_000},
    )  # fmt: skip
    await add_rows(app, bob, {"created_at": at("2024-03-10"),
                              "cached_tokens": 700_000})  # fmt: skip

    body = await get_summary(client, alice)

    assert body["cache_savings"] == {
        "current_month": {"prompt_cache": 0.5, "response_cache": 0.75,
                          "total": 1.25, "prompt_cache_tokens": 401_000,
                          "cached_responses": 1},
        "last_30_days": {"prompt_cache": 1.5, "response_cache": 0.75,
                         "total": 2.25, "prompt_cache_tokens": 1_201_000,
                         "cached_responses": 1},
    }  # fmt: skip
    bobs = await get_summary(client, bob)
    assert bobs["cache_savings"]["current_month"]["prompt_cache"] == 0.875


async def test_summary_on_the_first_day_of_a_month(
    client: httpx.AsyncClient,
    app: FastAPI,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "today_utc", lambda: dt.date(2024, 3, 1))
    await add_rows(app, alice, *SUMMARY_ROWS)

    body = await get_summary(client, alice)

    assert body["current_month"] == {
        "start_date": "2024-03-01",
        "end_date": "2024-03-01",
        "requests": 1,
        "tokens": 80,
        "cost": 1.5,
    }
    assert body["last_30_days"]["start_date"] == "2024-01-31"
    assert body["last_30_days"]["requests"] == 4
    assert body["savings"]["vs_subscription"] == 18.5


async def test_days_are_utc_whatever_the_session_time_zone(
    app: FastAPI, client: httpx.AsyncClient, alice: Account
) -> None:
    """A row at 23:30 UTC stays on its UTC day even when the database session
    runs in another zone (PostgreSQL only sets one; SQLite has none)."""
    await add_rows(
        app,
        alice,
        {"created_at": at("2024-03-05", "23:30:00"), "total_tokens": 1, "cost": 0.1},
        {"created_at": at("2024-03-06", "00:30:00"), "total_tokens": 2, "cost": 0.2},
    )
    window = service.day_window(dt.date(2024, 3, 5), dt.date(2024, 3, 6))

    async with runtime_of(app).sessionmaker() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("SET TIME ZONE 'America/New_York'"))
        days = await repository.list_daily_totals(
            session, user_id=alice.id, window=window
        )
        # SET is undone with the transaction the session rolls back on close.

    assert days == [
        repository.DayTotals(dt.date(2024, 3, 5), repository.Totals(1, 1, 0.1)),
        repository.DayTotals(dt.date(2024, 3, 6), repository.Totals(1, 2, 0.2)),
    ]
