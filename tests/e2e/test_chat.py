"""The chat screen end to end: Chromium against a live aihub whose global key
reaches the fake upstream (answers on fixed schedules). Selectors are roles
and labels, as a screen-reader user would find them."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import FakeLlm, WebServer
from tests.factories import Account

THREAD_URL = re.compile(r"/c/(\d+)$")
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def _composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Message", exact=True)


def _send(page: Page, text: str) -> None:
    box = _composer(page)
    box.fill(text)
    box.press("Enter")


def _answers(page: Page) -> Locator:
    return page.get_by_role("article", name="Answer")


def _thread_id(page: Page) -> int:
    expect(page).to_have_url(THREAD_URL)
    match = THREAD_URL.search(page.url)
    assert match is not None
    return int(match.group(1))


def _tree(web_server: WebServer, user: Account, thread_id: int) -> dict[str, Any]:
    response = web_server.api("GET", f"/api/threads/{thread_id}/tree", user, expect=200)
    body: dict[str, Any] = response.json()
    return body


def test_answer_streams_in_with_its_figures(
    signed_in_page: Page,
    fake_llm: FakeLlm,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    page = signed_in_page
    gate = fake_llm.hold(
        "Streaming works. Here is `code` and **bold** text.", after=3, chunks=9
    )
    _send(page, "Say something")
    thread_id = _thread_id(page)
    answer = _answers(page).last
    # Part of the answer is on screen while the model is still held mid-way.
    expect(answer).to_contain_text("Streaming")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    assert "bold" not in (answer.text_content() or "")
    gate.set()
    expect(answer).to_contain_text("Here is code and bold text.")
    expect(answer.locator("strong")).to_have_text("bold")
    # Per-answer figures: model, provider, tokens and cost from the done event.
    expect(answer).to_contain_text("openai")
    expect(answer).to_contain_text("tok")
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    # The live region announced the answer (whole sentences, not tokens).
    region = page.locator("[aria-live=polite]").filter(has_text="bold text.")
    expect(region).to_have_count(1)
    # The thread is in the sidebar without a reload.
    expect(page.get_by_role("link", name=re.compile("Say something"))).to_be_visible()
    stored = _tree(web_server, web_user, thread_id)
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"]
    assert stored["messages"][1]["status"] == "complete"
    axe(page)
    shot(page, "chat")


def test_stop_keeps_the_partial_answer(
    signed_in_page: Page, fake_llm: FakeLlm, web_server: WebServer, web_user: Account
) -> None:
    page = signed_in_page
    gate = fake_llm.hold("one two three four five six seven eight", after=3)
    _send(page, "Count for me")
    thread_id = _thread_id(page)
    answer = _answers(page).last
    expect(answer).to_contain_text("one")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    expect(answer).to_contain_text("stopped")
    gate.set()
    stored = _tree(web_server, web_user, thread_id)["messages"][-1]
    assert stored["status"] == "stopped"
    assert stored["content"].startswith("one")
    assert "eight" not in stored["content"]


def test_draft_survives_a_reload(signed_in_page: Page) -> None:
    page = signed_in_page
    _composer(page).fill("half a thought")
    page.reload()
    expect(_composer(page)).to_have_value("half a thought")


def test_a_second_tab_follows_a_running_answer(
    signed_in_page: Page, fake_llm: FakeLlm
) -> None:
    page = signed_in_page
    gate = fake_llm.hold("alpha beta gamma delta epsilon zeta eta theta", after=2)
    _send(page, "Greek letters")
    thread_id = _thread_id(page)
    expect(_answers(page).last).to_contain_text("alpha")
    other = page.context.new_page()
    try:
        other.goto(f"/c/{thread_id}")
        expect(_answers(other).last).to_contain_text("alpha")
        gate.set()
        expect(_answers(other).last).to_contain_text("theta", timeout=15_000)
        expect(_answers(page).last).to_contain_text("theta")
    finally:
        other.close()


def test_reload_mid_stream_resumes_the_answer(
    signed_in_page: Page, fake_llm: FakeLlm
) -> None:
    page = signed_in_page
    gate = fake_llm.hold("red orange yellow green blue indigo violet", after=2)
    _send(page, "Rainbow")
    thread_id = _thread_id(page)
    expect(_answers(page).last).to_contain_text("red")
    reattached: list[int] = []
    page.on(
        "response",
        lambda r: (
            reattached.append(r.status)
            if r.request.method == "GET" and f"/api/threads/{thread_id}/stream" in r.url
            else None
        ),
    )
    page.reload()
    expect(page).to_have_url(re.compile(rf"/c/{thread_id}$"))
    expect(_answers(page).last).to_contain_text("red")
    gate.set()
    expect(_answers(page).last).to_contain_text("violet", timeout=15_000)
    assert reattached, "the page never re-attached to the running answer"
    assert set(reattached) == {200}  # replay + live tail, not the polling fallback


def test_edit_regenerate_and_switch_branches(
    signed_in_page: Page,
    fake_llm: FakeLlm,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    page = signed_in_page
    fake_llm.stream("First answer.", tokens=3)
    fake_llm.stream("Second answer.", tokens=3)
    fake_llm.stream("Answer to the edit.", tokens=3)
    _send(page, "Original question")
    thread_id = _thread_id(page)
    expect(_answers(page).last).to_contain_text("First answer.")

    _answers(page).last.get_by_role("button", name="Regenerate answer").click()
    expect(_answers(page).last).to_contain_text("Second answer.")
    versions = page.get_by_role("navigation", name="the answer versions")
    expect(versions).to_contain_text("2/2")
    versions.get_by_role("button", name="Previous version of the answer").click()
    expect(_answers(page).last).to_contain_text("First answer.")
    expect(versions).to_contain_text("1/2")

    question = page.get_by_role("article", name="Your message").last
    question.get_by_role("button", name="Edit message").click()
    editor = page.get_by_role("textbox", name="Edit message")
    editor.fill("Edited question")
    page.get_by_role("button", name="Save and answer").click()
    expect(_answers(page).last).to_contain_text("Answer to the edit.")
    expect(page.get_by_role("article", name="Your message").last).to_contain_text(
        "Edited question"
    )
    mine = page.get_by_role("navigation", name="your message versions")
    expect(mine).to_contain_text("2/2")

    # The branch map lists both branch points; pick the first question's branch.
    page.get_by_role("button", name=re.compile(r"^Branches")).click()
    branch_map = page.get_by_role("complementary", name="Branch map")
    expect(branch_map.get_by_role("button")).to_have_count(1 + 2 + 2)
    axe(page)
    shot(page, "chat-branches")
    branch_map.get_by_role("button", name=re.compile(r"^Branch 1 of 2")).first.click()
    expect(page.get_by_role("article", name="Your message").last).to_contain_text(
        "Original question"
    )
    # The server agrees on the active branch (after a reload it is the same).
    page.reload()
    expect(page.get_by_role("article", name="Your message").last).to_contain_text(
        "Original question"
    )
    stored = _tree(web_server, web_user, thread_id)
    assert len(stored["messages"]) == 5


def test_fork_a_branch_into_a_new_thread(
    signed_in_page: Page, fake_llm: FakeLlm
) -> None:
    page = signed_in_page
    fake_llm.stream("Forkable answer.", tokens=2)
    _send(page, "Question to fork")
    source = _thread_id(page)
    expect(_answers(page).last).to_contain_text("Forkable answer.")
    _answers(page).last.get_by_role(
        "button", name="Fork from here into a new chat"
    ).click()
    expect(page).not_to_have_url(re.compile(rf"/c/{source}$"))
    fork = _thread_id(page)
    assert fork != source
    expect(page.get_by_role("heading", level=1)).to_contain_text("(fork)")
    expect(_answers(page).last).to_contain_text("Forkable answer.")
    expect(page.get_by_role("article", name="Your message")).to_contain_text(
        "Question to fork"
    )


def test_shortcuts_help_sheet(signed_in_page: Page, axe: Callable[..., Any]) -> None:
    page = signed_in_page
    page.get_by_role("heading", level=1).click()
    page.keyboard.press("Control+/")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Regenerate the last answer")
    axe(page)
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    page.keyboard.press("/")
    expect(_composer(page)).to_be_focused()


def test_an_attached_image_reaches_the_model_and_shows_in_the_message(
    signed_in_page: Page, fake_llm: FakeLlm, tmp_path: Path
) -> None:
    page = signed_in_page
    fake_llm.stream("Noted.", tokens=2)
    _send(page, "First message")
    _thread_id(page)
    expect(_answers(page).last).to_contain_text("Noted.")
    picture = tmp_path / "dot.png"
    picture.write_bytes(PIXEL_PNG)
    page.locator("input[type=file]").set_input_files(str(picture))
    attached = page.get_by_role("list", name="Attached images")
    expect(attached.get_by_role("img", name="dot.png")).to_be_visible()
    fake_llm.stream("A single pixel.", tokens=3)
    _send(page, "What is this?")
    expect(page.get_by_role("img", name="Attached image 1")).to_be_visible()
    expect(_answers(page).last).to_contain_text("A single pixel.")
    expect(attached).to_have_count(0)
    sent = fake_llm.requests[-1].body.decode()
    assert '"type":"image_url"' in sent
    assert "data:image/png;base64," in sent


def test_reading_above_is_never_moved_by_a_streaming_answer(
    signed_in_page: Page, fake_llm: FakeLlm, web_server: WebServer, web_user: Account
) -> None:
    page = signed_in_page
    thread = web_server.api(
        "POST", "/api/threads/", web_user, json={"title": "Long read"}, expect=201
    ).json()
    paragraph = "A line of earlier conversation. " * 12
    for i in range(30):
        role = "user" if i % 2 == 0 else "assistant"
        web_server.api(
            "POST",
            f"/api/threads/{thread['id']}/messages",
            web_user,
            json={"role": role, "content": f"{i}: {paragraph}"},
            expect=201,
        )
    page.goto(f"/c/{thread['id']}")
    expect(_answers(page).last).to_contain_text("29:")
    gate = fake_llm.hold(" ".join(f"word{i}" for i in range(60)), after=5, chunks=60)
    _send(page, "Write a long answer")
    expect(_answers(page).last).to_contain_text("word0")
    messages = page.get_by_role("region", name="Messages")
    messages.hover()
    page.mouse.wheel(0, -600)
    jump = page.get_by_role("button", name="Jump to latest ↓")
    expect(jump).to_be_visible()
    top = messages.evaluate("el => el.scrollTop")
    gate.set()
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    assert messages.evaluate("el => el.scrollTop") == top
    jump.click()
    page.wait_for_function(
        """() => {
            const el = document.querySelector('[aria-label="Messages"]');
            return el && el.scrollHeight - el.scrollTop - el.clientHeight < 30;
        }"""
    )
    expect(jump).to_be_hidden()
    expect(_answers(page).last).to_contain_text("word59")


def test_phone_layout(
    signed_in_page: Page, fake_llm: FakeLlm, shot: Callable[..., Path]
) -> None:
    page = signed_in_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    fake_llm.stream("Short answer on a phone.", tokens=3)
    _send(page, "Hi from a phone")
    _thread_id(page)
    expect(_answers(page).last).to_contain_text("Short answer on a phone.")
    composer = _composer(page).bounding_box()
    assert composer is not None
    assert composer["x"] >= 0
    assert composer["x"] + composer["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "chat-phone")


RICH_ANSWER = """Code:

```python
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
```

Math: $E = mc^2$ and

$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$
"""


def test_a_new_chat_with_an_image_renders_code_and_math(
    signed_in_page: Page, fake_llm: FakeLlm, tmp_path: Path
) -> None:
    page = signed_in_page
    picture = tmp_path / "dot.png"
    picture.write_bytes(PIXEL_PNG)
    page.locator("input[type=file]").set_input_files(str(picture))
    attached = page.get_by_role("list", name="Attached images")
    expect(attached.get_by_role("img", name="dot.png")).to_be_visible()
    fake_llm.stream(RICH_ANSWER, tokens=20)
    _send(page, "Look at this")
    _thread_id(page)
    expect(page.get_by_role("img", name="Attached image 1")).to_be_visible()
    answer = _answers(page).last
    expect(answer).to_contain_text("Math")
    # highlight.js and KaTeX arrive lazily, then the blocks render with them.
    expect(answer.locator(".hljs-keyword").first).to_have_text("def")
    expect(answer.locator(".katex-display")).to_have_count(1)
    expect(answer.get_by_role("button", name="Copy code")).to_be_visible()
    assert '"type":"image_url"' in fake_llm.requests[-1].body.decode()
    page.reload()
    expect(page.get_by_role("img", name="Attached image 1")).to_be_visible()


def test_keyboard_stop_regenerate_and_new_chat(
    signed_in_page: Page, fake_llm: FakeLlm
) -> None:
    page = signed_in_page
    gate = fake_llm.hold("uno dos tres cuatro cinco seis", after=2)
    _send(page, "Spanish numbers")
    thread_id = _thread_id(page)
    expect(_answers(page).last).to_contain_text("uno")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Send message")).to_be_visible()
    expect(_answers(page).last).to_contain_text("stopped")
    gate.set()
    fake_llm.stream("Again, completely.", tokens=3)
    page.keyboard.press("Alt+Shift+R")
    expect(_answers(page).last).to_contain_text("Again, completely.")
    expect(page.get_by_role("navigation", name="the answer versions")).to_contain_text(
        "2/2"
    )
    page.keyboard.press("Alt+Shift+N")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("New chat")
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/c/{thread_id}$"))
