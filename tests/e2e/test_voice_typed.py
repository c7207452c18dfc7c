"""Voice mode without a microphone (none in this browser): the page says so
and typed turns still work; the stop button cuts an answer in progress (the
turn is kept, marked interrupted); after a reload the same session and thread
are resumed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import FakeLlm, WebServer
from tests.factories import Account


def _wait_until(page: Page, check: Callable[[], bool], timeout_s: float = 10) -> None:
    for _ in range(int(timeout_s * 10)):
        if check():
            return
        page.wait_for_timeout(100)
    assert check()


def _type(page: Page, text: str) -> None:
    page.get_by_label("Type a message instead").fill(text)
    page.get_by_role("button", name="Send").click()


def test_typed_turns_stop_and_resume(
    signed_in_page: Page,
    fake_llm: FakeLlm,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    gate = fake_llm.hold("Once upon a time there was a very long story", after=2)
    page = signed_in_page
    page.goto("/voice")
    axe(page)
    shot(page, "voice-setup")
    page.get_by_label("Voice", exact=True).select_option("none")
    page.get_by_role("button", name="Start talking").click()
    expect(page).to_have_url(re.compile(r"/voice/\d+$"))
    thread_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("alert").filter(has_text="microphone")).to_be_visible()

    _type(page, "Tell me a story")
    turn = page.locator("li.voice-turn").first
    expect(turn).to_contain_text("Tell me a story")
    expect(turn).to_contain_text("Once upon")  # streaming, held by the gate
    page.get_by_role("button", name="Stop answer").click()
    expect(turn.get_by_text("interrupted", exact=True)).to_be_visible()
    axe(page)
    gate.set()

    def stored_statuses() -> list[tuple[str, str]]:
        thread = web_server.api(
            "GET", f"/api/threads/{thread_id}", web_user, expect=200
        ).json()
        return [
            (m["role"], m["status"])
            for m in thread["messages"]
            if m["role"] != "system"
        ]

    # the cut answer is stored when its turn ends
    _wait_until(page, lambda: stored_statuses()[-1:] == [("assistant", "interrupted")])

    # a reload offers to resume this thread's session, and it goes on there
    page.reload()
    history = page.locator("details.voice-history")
    summary = history.locator("summary")
    expect(summary).to_have_text("Earlier in this thread (2 messages)")
    summary.click()
    expect(history).to_contain_text("Tell me a story")
    page.get_by_role("button", name="Resume voice session").click()
    expect(page.get_by_role("status").filter(has_text="Listening")).to_be_visible()
    fake_llm.stream("The end.")
    _type(page, "Finish it")
    last = page.locator("li.voice-turn").last
    expect(last).to_contain_text("The end.")
    expect(last.locator(".voice-metrics")).to_be_visible()  # response.done
    expect(page).to_have_url(re.compile(rf"/voice/{thread_id}$"))
    statuses = stored_statuses()
    assert statuses[-2:] == [("user", "complete"), ("assistant", "complete")]
    assert len(statuses) == 4
