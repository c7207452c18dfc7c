"""The media screen against the fake SuperDuperAI (tests/fakes/media_upstream.py):
a generated image shows live progress over SSE, keeps following after a reload
(resuming with Last-Event-ID), completes, and can be downloaded; a job can be
cancelled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Request, expect

from tests.e2e.conftest import WebServer
from tests.factories import Account
from tests.fakes.media_upstream import FakeMediaUpstream, MediaScript

MODEL_LABEL = "Google Imagen 4 (superduperai)"


def _add_media_key(
    web_server: WebServer, user: Account, fake: FakeMediaUpstream, secret: str
) -> None:
    web_server.api(
        "POST",
        "/api/api-keys/",
        user,
        json={
            "provider": "superduperai",
            "api_key": secret,
            "name": "media",
            "base_url": fake.base_url("superduperai"),
        },
        expect=201,
    )


def _submit(page: Page, prompt: str) -> None:
    page.get_by_role("radio", name="Image").check()
    page.get_by_label("Model").select_option(label=MODEL_LABEL)
    page.get_by_label("Prompt").fill(prompt)
    page.get_by_role("button", name="Generate image").click()
    expect(page.get_by_role("listitem").filter(has_text=prompt)).to_be_visible()


def test_image_job_completes_with_progress_across_a_reload(
    signed_in_page: Page,
    web_server: WebServer,
    web_user: Account,
    fake_media: FakeMediaUpstream,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    secret = f"sdai-e2e-{web_user.id}"
    _add_media_key(web_server, web_user, fake_media, secret)
    gate = threading.Event()
    fake_media.script(secret, MediaScript(polls=2, gate=gate))

    page = signed_in_page
    events: list[Request] = []
    page.on(
        "request",
        lambda r: events.append(r) if r.url.endswith("/events") else None,
    )
    page.goto("/media")
    expect(page.get_by_role("heading", name="Media", level=1)).to_be_visible()
    _submit(page, "A red fox in snow")

    jobs = web_server.api("GET", "/api/media/jobs", web_user, expect=200).json()
    assert [j["prompt"] for j in jobs] == ["A red fox in snow"]
    title = f"Image {jobs[0]['id']}"
    card = page.get_by_role("listitem", name=title)
    progress = card.get_by_role("progressbar", name=f"{title} progress")
    # held by the gate at its last step: running, with a real percentage
    expect(card).to_contain_text("Generating")
    expect(progress).to_have_attribute("aria-valuetext", _percent_above_zero())
    shot(page, "media-progress")

    page.reload()
    card = page.get_by_role("listitem", name=title)
    expect(card).to_contain_text("Generating")
    expect(card.get_by_role("progressbar")).to_have_attribute(
        "aria-valuetext", _percent_above_zero()
    )
    # the reloaded page resumed the stream from the last event it had seen
    resumed = [r for r in events if r.frame.page == page]
    assert len(resumed) >= 2
    last_id = resumed[-1].all_headers().get("last-event-id")
    assert last_id is not None, resumed[-1].all_headers()
    assert int(last_id) >= 3

    gate.set()
    expect(card).to_contain_text("Done", timeout=20_000)
    image = card.get_by_role("img", name="A red fox in snow (1)")
    expect(image).to_be_visible()
    page.wait_for_function(
        "(el) => el.complete && el.naturalWidth > 0", arg=image.element_handle()
    )
    link = card.get_by_role("link", name="Download A red fox in snow (1)")
    with page.expect_download() as download:
        link.click()
    saved = download.value.path()
    assert saved is not None
    assert Path(saved).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = web_server.api("GET", f"/api/media/jobs/{jobs[0]['id']}", web_user).json()
    assert done["status"] == "completed"
    assert done["percent"] == 100
    axe(page)
    shot(page, "media-gallery")


def _percent_above_zero() -> Any:
    import re

    return re.compile(r"^(?!0%)\d+%$")


def test_a_running_job_can_be_cancelled(
    signed_in_page: Page,
    web_server: WebServer,
    web_user: Account,
    fake_media: FakeMediaUpstream,
) -> None:
    secret = f"sdai-e2e-cancel-{web_user.id}"
    _add_media_key(web_server, web_user, fake_media, secret)
    fake_media.script(secret, MediaScript(polls=2, gate=threading.Event()))
    page = signed_in_page
    page.goto("/media")
    _submit(page, "A lighthouse at night")
    job = web_server.api("GET", "/api/media/jobs", web_user, expect=200).json()[0]
    card = page.get_by_role("listitem", name=f"Image {job['id']}")
    card.get_by_role("button", name=f"Cancel Image {job['id']}").click()
    expect(card).to_contain_text("Cancelled")
    expect(card.get_by_role("progressbar")).to_have_count(0)
    stored = web_server.api("GET", f"/api/media/jobs/{job['id']}", web_user).json()
    assert stored["status"] == "cancelled"


def test_a_video_is_generated_and_playable(
    signed_in_page: Page,
    web_server: WebServer,
    web_user: Account,
    fake_media: FakeMediaUpstream,
) -> None:
    secret = f"sdai-e2e-video-{web_user.id}"
    _add_media_key(web_server, web_user, fake_media, secret)
    fake_media.script(secret, MediaScript(polls=1))
    page = signed_in_page
    page.goto("/media")
    page.get_by_role("radio", name="Video").check()
    page.get_by_label("Model").select_option(label="Google Veo 2 (superduperai)")
    page.get_by_label("Size").select_option("720x1280")
    page.get_by_label("Seconds").fill("6")
    page.get_by_label("Prompt").fill("Waves at dusk")
    page.get_by_role("button", name="Generate video").click()
    card = page.get_by_role("listitem").filter(has_text="Waves at dusk")
    expect(card).to_contain_text("Done", timeout=20_000)
    video = card.get_by_label("Waves at dusk (1)")
    expect(video).to_have_js_property("tagName", "VIDEO")
    job = web_server.api("GET", "/api/media/jobs", web_user, expect=200).json()[0]
    assert (job["kind"], job["width"], job["height"], job["duration"]) == (
        "video",
        720,
        1280,
        6,
    )
    assert job["artifacts"][0]["media_type"] == "video/mp4"
    expect(
        card.get_by_role("link", name="Download Waves at dusk (1)")
    ).to_have_attribute("download", f"aihub-{job['id']}-1.mp4")
