"""The usage screen: charts per day, per model and per provider drawn from
real requests (made through the API against the fake upstream), with the
same figures in tables and the month / 30-day / all-time summaries."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import FakeLlm, WebServer
from tests.factories import Account


def test_charts_render_with_data(
    signed_in_page: Page,
    fake_llm: FakeLlm,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    for question in ("What is 2+2?", "Name a colour.", "Say hi."):
        web_server.api(
            "POST",
            "/api/ask",
            web_user,
            json={"question": question, "provider": "openai", "model": "gpt-4o-mini"},
            expect=200,
        )
    # the same completion twice: the second answer comes from aihub's cache
    completion = {
        "provider": "openai",
        "model": "gpt-4o",
        "prompt": "Cache me.",
        "cache": True,
    }
    for _ in range(2):
        web_server.api(
            "POST", "/api/threads/completion", web_user, json=completion, expect=200
        )
    stats = web_server.api("GET", "/api/statistics/usage", web_user, expect=200)
    assert stats.json()["total_requests"] == 5
    summary = web_server.api("GET", "/api/statistics/summary", web_user, expect=200)
    saved = summary.json()["cache_savings"]["current_month"]
    assert saved["cached_responses"] == 1
    assert saved["response_cache"] > 0

    page = signed_in_page
    page.goto("/usage")
    expect(page.get_by_role("heading", name="Usage", level=1)).to_be_visible()

    # the summary: five requests this month and in the last 30 days
    month = page.locator(
        ".usage-card", has=page.get_by_role("heading", name="This month", exact=True)
    )
    expect(month).to_contain_text("5 requests")
    expect(page.get_by_role("heading", name="Saved this month")).to_be_visible()
    cache_card = page.locator(
        ".usage-card", has=page.get_by_role("heading", name="Cache savings this month")
    )
    expect(cache_card).to_contain_text("from 1 cached answers")

    # one chart per view, each a canvas drawn by uPlot, described in text
    for title in ("Cost per day", "Cost per model", "Cost per provider"):
        figure = page.get_by_role("figure", name=title)
        expect(figure).to_be_visible()
        canvas = figure.locator("canvas")
        expect(canvas).to_have_count(1)
        box = canvas.bounding_box()
        assert box is not None
        assert box["width"] > 200
        assert box["height"] > 100
    daily = page.get_by_role("figure", name="Cost per day")
    expect(daily).to_have_accessible_description(
        re.compile(r"^30 days from .* 1 with requests\.")
    )
    per_model = page.get_by_role("table", name="Usage per model")
    expect(per_model.get_by_role("row", name="openai / gpt-4o-mini")).to_contain_text(
        "3"
    )
    per_provider = page.get_by_role("table", name="Usage per provider")
    expect(per_provider.get_by_role("rowheader", name="openai")).to_be_visible()

    # switching the metric redraws the charts for requests
    page.get_by_role("radio", name="Requests").check()
    requests_chart = page.get_by_role("figure", name="Requests per model")
    expect(requests_chart).to_have_accessible_description(
        re.compile(r"openai / gpt-4o-mini 3")
    )
    expect(requests_chart.locator("canvas")).to_have_count(1)

    axe(page)
    shot(page, "usage-charts")
