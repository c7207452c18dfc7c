"""Voice mode with Chromium's fake microphone: a sentence spoken by espeak-ng
(made at test time) is fed to the page as its microphone; the server's local
engines hear it (faster-whisper tiny.en), the fake model answers, Piper
speaks the answer, and the page plays the audio and shows the transcript.
The turns land in the session's thread."""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect

from aihub.providers.stt_local import is_available as local_stt_available
from aihub.providers.tts_piper import is_available as piper_available
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, FakeLlm, WebServer
from tests.factories import Account

SENTENCE = "Please book a table for two people tomorrow at seven."
ANSWER = "Your table for two is booked for tomorrow at seven."


def need_local_engines() -> None:
    """The voice-local extra (make test installs it): fail, never skip."""
    if not (local_stt_available() and piper_available()):
        pytest.fail(
            "voice mode e2e needs the voice-local extra: "
            '.venv/bin/pip install -e ".[voice-local]" (make test installs it)',
            pytrace=False,
        )


def spoken_wav(path: Path, sentences: list[str], gap_s: float = 0.0) -> Path:
    """espeak-ng says each sentence, ``gap_s`` of silence between them, with
    silence before (the page connects) and after (the answer is heard out
    before the file ends); 16-bit mono."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        pytest.fail("espeak-ng is missing: apt-get install espeak-ng", pytrace=False)
    rate = 0
    pieces: list[bytes] = []
    for n, sentence in enumerate(sentences):
        raw = path.with_name(f"raw{n}.wav")
        subprocess.run([binary, "-w", str(raw), sentence], check=True)
        with wave.open(str(raw), "rb") as src:
            rate = src.getframerate()
            width, channels = src.getsampwidth(), src.getnchannels()
            pieces.append(src.readframes(src.getnframes()))
        assert (width, channels) == (2, 1), (width, channels)
    silence = b"\x00\x00"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        gap = silence * int(rate * gap_s)
        out.writeframes(
            silence * int(rate * 2.0) + gap.join(pieces) + silence * int(rate * 20)
        )
    return path


@pytest.fixture(scope="module")
def browser(
    playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """This module's Chromium hears the WAV as its microphone (played once)."""
    need_local_engines()
    wav = spoken_wav(tmp_path_factory.mktemp("voice") / "sentence.wav", [SENTENCE])
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


def test_spoken_question_gets_a_spoken_answer(
    signed_in_page: Page,
    fake_llm: FakeLlm,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    fake_llm.stream(ANSWER, per_second=50.0)
    page = signed_in_page
    page.context.grant_permissions(["microphone"])
    page.goto("/voice")
    expect(page.get_by_role("heading", name="Voice mode")).to_be_visible()
    page.get_by_label("Language").select_option("en")
    page.get_by_label("Speech recognition").select_option("local")
    page.get_by_label("Voice", exact=True).select_option("piper")
    page.get_by_role("button", name="Start talking").click()

    # the session has a thread: the address follows it
    expect(page).to_have_url(re.compile(r"/voice/\d+$"))
    thread_id = int(page.url.rsplit("/", 1)[1])
    transcript = page.locator("ol.voice-turns")
    # tiny.en hears the espeak sentence (the first load of the model is slow)
    said = transcript.locator(".voice-user p").first
    expect(said).to_contain_text(re.compile("table for two", re.I), timeout=60_000)
    expect(transcript).to_contain_text(ANSWER, timeout=30_000)
    expect(transcript.get_by_text("spoken", exact=True)).to_be_visible(timeout=30_000)
    played = page.get_by_text(re.compile(r"^Answer audio played: \d+\.\d s$"))
    page.wait_for_function(
        "() => { const m = document.querySelector('.voice-played')?.textContent"
        "?.match(/([0-9.]+) s$/); return m && Number(m[1]) > 1.0; }",
        timeout=30_000,
    )
    expect(played).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Listening")).to_be_visible()

    # both words are in the thread, the answer with its voice metrics
    thread = web_server.api(
        "GET", f"/api/threads/{thread_id}", web_user, expect=200
    ).json()
    roles = [
        (m["role"], m["content"]) for m in thread["messages"] if m["role"] != "system"
    ]
    assert roles[-1] == ("assistant", ANSWER), roles
    assert roles[-2][0] == "user", roles
    assert "table for two" in roles[-2][1].lower(), roles
    link = page.get_by_role("link", name="Open the thread")
    expect(link).to_have_attribute("href", f"/c/{thread_id}")

    axe(page)
    shot(page, "voice-answer")
    page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("button", name="Start talking")).to_be_visible()
