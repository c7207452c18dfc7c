"""Barge-in with Chromium's fake microphone: the user asks for a story, the
answer starts to be spoken (the fake model then holds it, so it is still
going), and the user talks over it: the answer stops, is kept in the thread
as interrupted, and what the user said next becomes the next turn."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, FakeLlm, WebServer
from tests.e2e.test_voice import need_local_engines, spoken_wav
from tests.factories import Account

STORY = (
    "Here is a long story about the sea and the mountains, and then the wind "
    "came over the hills at night and nobody slept."
)


@pytest.fixture(scope="module")
def browser(
    playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """The microphone asks for a story, then, 9 s later (the answer is being
    spoken by then), says "stop"."""
    need_local_engines()
    wav = spoken_wav(
        tmp_path_factory.mktemp("bargein") / "bargein.wav",
        ["Please tell me a story about the sea.", "Stop. Tell me the time instead."],
        gap_s=9.0,
    )
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    yield chromium
    chromium.close()


def test_speaking_over_the_answer_stops_it(
    signed_in_page: Page, fake_llm: FakeLlm, web_server: WebServer, web_user: Account
) -> None:
    # the story is held after its first clause: still in progress when cut
    gate = fake_llm.hold(STORY, after=6, chunks=12)
    try:
        page = signed_in_page
        page.goto("/voice")
        page.get_by_label("Language").select_option("en")
        page.get_by_label("Speech recognition").select_option("local")
        page.get_by_label("Voice", exact=True).select_option("piper")
        page.get_by_role("button", name="Start talking").click()
        expect(page).to_have_url(re.compile(r"/voice/\d+$"))
        thread_id = int(page.url.rsplit("/", 1)[1])

        turns = page.locator("li.voice-turn")
        first = turns.nth(0)
        expect(first.locator(".voice-user p")).to_contain_text(
            re.compile("story", re.I), timeout=60_000
        )
        expect(first).to_contain_text("Here is a long story", timeout=30_000)
        expect(first.get_by_text("interrupted", exact=True)).to_be_visible(
            timeout=30_000
        )
        second = turns.nth(1)
        expect(second.locator(".voice-user p")).to_contain_text(
            re.compile("time", re.I), timeout=30_000
        )
        # the next turn is answered (the fake model's default: an echo)
        expect(second).to_contain_text("echo:", timeout=30_000)
    finally:
        gate.set()

    thread = web_server.api(
        "GET", f"/api/threads/{thread_id}", web_user, expect=200
    ).json()
    answers = [m for m in thread["messages"] if m["role"] == "assistant"]
    assert answers[0]["status"] == "interrupted"
    assert answers[0]["content"].startswith("Here is a long story")
    assert answers[0]["content"] != STORY
