"""axe-core on every screen (no serious or critical violation), and the
screenshot of each screen that the README shows (docs/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import FakeLlm, WebServer
from tests.factories import Account

Axe = Callable[..., list[dict[str, Any]]]
Shot = Callable[..., Path]

ANSWER = """Here is the sum of squares, $\\sum_{k=1}^{n} k^2 = \\frac{n(n+1)(2n+1)}{6}$:

```python
def sum_of_squares(n: int) -> int:
    return n * (n + 1) * (2 * n + 1) // 6
```

$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$

- **fast**: constant time
- checked for `n = 10`: 385
"""


def seed_conversation(web_server: WebServer, user: Account) -> int:
    thread_id = web_server.new_thread(user, "Sum of squares")
    for role, content in (
        ("user", "How do I sum the first n squares in Python?"),
        ("assistant", ANSWER),
    ):
        body: dict[str, Any] = {"role": role, "content": content}
        if role == "assistant":
            body |= {"provider": "openai", "model": "gpt-4o-mini", "tokens": 80}
        web_server.api(
            "POST", f"/api/threads/{thread_id}/messages", user, json=body, expect=201
        )
    return thread_id


def h1(page: Page, name: str) -> Any:
    return page.get_by_role("heading", name=name, level=1)


# -- signed out ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "heading", "name"),
    [("/login", "Sign in", "sign-in"), ("/register", "Create an account", "register")],
)
def test_signed_out_screens(
    page: Page, axe: Axe, shot: Shot, path: str, heading: str, name: str
) -> None:
    page.goto(path)
    expect(h1(page, heading)).to_be_visible()
    axe(page)
    shot(page, name)


# -- a user's screens --------------------------------------------------------------


USER_PAGES = [
    ("/prompts", "Prompts", "prompts"),
    ("/usage", "Usage", "usage"),
    ("/keys", "Keys", "keys"),
    ("/media", "Media", "media"),
    ("/voice", "Voice mode", "voice"),
]


@pytest.mark.parametrize(("path", "heading", "name"), USER_PAGES)
def test_user_pages(
    signed_in_page: Page, axe: Axe, shot: Shot, path: str, heading: str, name: str
) -> None:
    page = signed_in_page
    page.get_by_role("navigation", name="Pages").get_by_role(
        "link", name=re.compile(f"^{heading.split()[0]}")
    ).click()
    expect(page).to_have_url(re.compile(f"{path}$"))
    expect(h1(page, heading)).to_be_visible()
    page.wait_for_timeout(300)  # lists and charts settle
    axe(page)
    shot(page, name)


def test_new_chat(signed_in_page: Page, axe: Axe, shot: Shot) -> None:
    page = signed_in_page
    expect(page.get_by_label("Message", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Model: "))).to_be_visible()
    axe(page)
    shot(page, "chat-new")


def test_chat_with_code_and_math(
    signed_in_page: Page, fake_llm: FakeLlm, axe: Axe, shot: Shot
) -> None:
    page = signed_in_page
    fake_llm.stream(ANSWER, tokens=40, per_second=200.0)
    page.get_by_label("Message", exact=True).fill(
        "How do I sum the first n squares in Python?"
    )
    page.get_by_role("button", name="Send message").click()
    answer = page.get_by_role("article", name="Answer").last
    expect(answer).to_contain_text("def sum_of_squares")
    expect(answer.locator(".katex").first).to_be_visible()
    expect(answer).to_contain_text(re.compile(r"tok\s*\$\d"))  # per-answer stats
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    page.wait_for_timeout(300)  # the finished answer's stats settle
    axe(page)
    shot(page, "chat-thread")


def test_chat_on_a_phone(
    signed_in_page: Page, web_server: WebServer, web_user: Account, axe: Axe, shot: Shot
) -> None:
    page = signed_in_page
    thread_id = seed_conversation(web_server, web_user)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/c/{thread_id}")
    expect(page.get_by_role("article", name="Answer").last).to_contain_text(
        "sum_of_squares"
    )
    expect(page.get_by_role("button", name="Open sidebar")).to_be_visible()
    shot(page, "chat-phone")
    page.get_by_role("button", name="Open sidebar").click()
    expect(page.get_by_role("complementary", name="Sidebar")).to_be_visible()
    shot(page, "sidebar-phone")
    axe(page)
    page.keyboard.press("Escape")
    expect(page.get_by_role("complementary", name="Sidebar")).to_be_hidden()
    axe(page)


def test_shortcuts_help_sheet(signed_in_page: Page, axe: Axe, shot: Shot) -> None:
    page = signed_in_page
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="Keyboard shortcuts").click()
    sheet = page.get_by_role("dialog")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text(re.compile("shortcut", re.I))
    axe(page)
    shot(page, "shortcuts")


def test_thread_menu_and_rename_dialog(
    signed_in_page: Page, web_server: WebServer, web_user: Account, axe: Axe, shot: Shot
) -> None:
    page = signed_in_page
    for title in ("Trip to Lisbon", "Quarterly report", "Recipe ideas"):
        web_server.new_thread(web_user, title)
    page.reload()
    page.get_by_role("button", name="Actions for Quarterly report").click()
    expect(page.get_by_role("menuitem", name="Rename")).to_be_visible()
    axe(page)
    shot(page, "thread-menu")
    page.get_by_role("menuitem", name="Rename").click()
    expect(page.get_by_role("dialog", name="Rename thread")).to_be_visible()
    axe(page)
    shot(page, "thread-rename")


def test_prompt_variables_form(signed_in_page: Page, axe: Axe, shot: Shot) -> None:
    page = signed_in_page
    page.goto("/prompts")
    page.get_by_role("button", name="New prompt").click()
    dialog = page.get_by_role("dialog", name="New prompt")
    dialog.get_by_label("Title").fill("Product blurb")
    dialog.get_by_label("Prompt", exact=True).fill(
        "Write a two-line blurb for {product_name} aimed at {audience}."
    )
    axe(page)
    shot(page, "prompt-edit")
    dialog.get_by_role("button", name="Create prompt").click()
    page.get_by_role("button", name="Use Product blurb").click()
    use = page.get_by_role("dialog", name=re.compile("^Use .Product blurb.$"))
    use.get_by_label("Product name").fill("aihub")
    use.get_by_label("Audience").fill("self-hosters")
    axe(page)
    shot(page, "prompt-variables")


def test_reauth_dialog(
    signed_in_page: Page, web_server: WebServer, web_user: Account, axe: Axe, shot: Shot
) -> None:
    page = signed_in_page
    page.get_by_label("Message", exact=True).fill("Half-written question")
    web_server.api(
        "PUT", "/api/users/me", web_user, json={"password": "another-password-9"}
    )
    page.get_by_role("searchbox", name="Search threads").fill("x")
    expect(page.get_by_role("dialog", name="Session expired")).to_be_visible()
    axe(page)
    shot(page, "reauth")


# -- an administrator's screens ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "heading", "name"),
    [("/admin", "Administration", "admin"), ("/setup", "Set up aihub", "setup")],
)
def test_admin_pages(
    admin_page: Page, axe: Axe, shot: Shot, path: str, heading: str, name: str
) -> None:
    page = admin_page
    page.goto(path)
    expect(h1(page, heading)).to_be_visible()
    page.wait_for_timeout(300)
    axe(page)
    shot(page, name)


def test_no_model_notice(
    keyless_hub: WebServer, signed_in_page: Page, axe: Axe, shot: Shot
) -> None:
    page = signed_in_page
    page.reload()
    expect(
        page.get_by_role("heading", name="No model is available to you")
    ).to_be_visible()
    axe(page)
    shot(page, "no-models")
