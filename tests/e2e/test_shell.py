"""The app's shell in a browser: sign in, register, sign out, the thread list's
actions, a prompt with variables, first run and the re-auth dialog."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import GLOBAL_KEY, FakeLlm, WebServer
from tests.factories import Account


def composer(page: Page) -> Any:
    return page.get_by_label("Message", exact=True)


def sidebar(page: Page) -> Any:
    return page.get_by_role("complementary", name="Sidebar")


def thread_link(page: Page, title: str) -> Any:
    return page.get_by_role("list", name="Thread list").get_by_role("link", name=title)


def thread_action(page: Page, title: str, action: str) -> None:
    page.get_by_role("button", name=f"Actions for {title}").click()
    page.get_by_role("menuitem", name=action).click()


def make_thread(web_server: WebServer, user: Account, title: str) -> int:
    return web_server.new_thread(user, title)


def read_thread(web_server: WebServer, user: Account, thread_id: int) -> Any:
    return web_server.api("GET", f"/api/threads/{thread_id}", user).json()


def eventually(page: Page, read: Callable[[], Any], expected: Any) -> None:
    """The server's state reaches ``expected`` (the UI may show it first)."""
    value = read()
    for _ in range(50):
        if value == expected:
            return
        page.wait_for_timeout(100)
        value = read()
    assert value == expected


def answers(page: Page) -> Any:
    return page.get_by_role("article", name="Answer")


# -- accounts ------------------------------------------------------------------------


def test_sign_in_then_sign_out(page: Page, web_server: WebServer) -> None:
    user = web_server.new_user()
    page.goto("/c/1")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Username or email").fill(user.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))

    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    expect(composer(page)).to_be_visible()
    expect(sidebar(page)).to_contain_text(user.username)
    assert page.evaluate("() => localStorage.getItem('aihub.token')")

    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('aihub.token')") is None
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_register_signs_the_new_user_in(page: Page, web_server: WebServer) -> None:
    page.goto("/login")
    page.get_by_role("link", name="Create an account").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Password").fill("newcomer-password-1")
    page.get_by_role("button", name="Create account").click()
    expect(composer(page)).to_be_visible()
    expect(sidebar(page)).to_contain_text("newcomer")
    # the account is real: it signs in through the API
    assert web_server.login("newcomer@example.com", "newcomer-password-1")

    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Username").fill("newcomer2")
    page.get_by_label("Password").fill("newcomer-password-1")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the email is taken


# -- the thread list ---------------------------------------------------------------


def test_thread_list_search_rename_pin_archive_delete(
    signed_in_page: Page, web_server: WebServer, web_user: Account
) -> None:
    page = signed_in_page
    alpha = make_thread(web_server, web_user, "Alpha plans")
    beta = make_thread(web_server, web_user, "Beta notes")
    web_server.api(
        "POST",
        f"/api/threads/{beta}/messages",
        web_user,
        json={"role": "user", "content": "the quokka is a small marsupial"},
        expect=201,
    )
    page.reload()
    expect(thread_link(page, "Alpha plans")).to_be_visible()
    expect(thread_link(page, "Beta notes")).to_be_visible()

    # search reaches message text, not only titles
    search = page.get_by_role("searchbox", name="Search threads")
    search.fill("quokka")
    expect(thread_link(page, "Beta notes")).to_be_visible()
    expect(thread_link(page, "Alpha plans")).to_have_count(0)
    search.fill("")
    expect(thread_link(page, "Alpha plans")).to_be_visible()

    thread_action(page, "Alpha plans", "Rename")
    dialog = page.get_by_role("dialog", name="Rename thread")
    dialog.get_by_label("Title").fill("Alpha roadmap")
    dialog.get_by_role("button", name="Save").click()
    expect(thread_link(page, "Alpha roadmap")).to_be_visible()
    eventually(
        page, lambda: read_thread(web_server, web_user, alpha)["title"], "Alpha roadmap"
    )

    thread_action(page, "Alpha roadmap", "Pin")
    expect(thread_link(page, "Alpha roadmap")).to_contain_text("(pinned)")
    eventually(
        page, lambda: read_thread(web_server, web_user, alpha)["is_pinned"], True
    )

    thread_action(page, "Beta notes", "Archive")
    expect(thread_link(page, "Beta notes")).to_have_count(0)
    eventually(
        page, lambda: read_thread(web_server, web_user, beta)["is_archived"], True
    )
    page.get_by_role("button", name="Archived").click()
    expect(thread_link(page, "Beta notes")).to_be_visible()
    expect(thread_link(page, "Alpha roadmap")).to_have_count(0)
    page.get_by_role("button", name="Archived").click()

    thread_action(page, "Alpha roadmap", "Delete")
    page.get_by_role("dialog", name="Delete thread").get_by_role(
        "button", name="Delete"
    ).click()
    expect(thread_link(page, "Alpha roadmap")).to_have_count(0)
    eventually(
        page,
        lambda: web_server.api("GET", f"/api/threads/{alpha}", web_user).status_code,
        404,
    )


def test_thread_list_bulk_archive_and_export(
    signed_in_page: Page, web_server: WebServer, web_user: Account, tmp_path: Path
) -> None:
    page = signed_in_page
    ids = [make_thread(web_server, web_user, f"Bulk {n}") for n in (1, 2, 3)]
    web_server.api(
        "POST",
        f"/api/threads/{ids[0]}/messages",
        web_user,
        json={"role": "user", "content": "export me, please"},
        expect=201,
    )
    page.reload()
    expect(thread_link(page, "Bulk 3")).to_be_visible()

    with page.expect_download() as download_info:
        thread_action(page, "Bulk 1", "Export as JSON")
    exported = tmp_path / "thread.json"
    download_info.value.save_as(exported)
    data = json.loads(exported.read_text())
    assert "export me, please" in json.dumps(data)

    with page.expect_download() as download_info:
        thread_action(page, "Bulk 1", "Export as Markdown")
    markdown = tmp_path / "thread.md"
    download_info.value.save_as(markdown)
    assert "export me, please" in markdown.read_text()

    page.get_by_role("button", name="Select threads").click()
    page.get_by_role("checkbox", name="Select Bulk 1").check()
    page.get_by_role("checkbox", name="Select Bulk 2").check()
    page.get_by_role("toolbar", name="Bulk actions").get_by_role(
        "button", name="Archive"
    ).click()
    expect(thread_link(page, "Bulk 1")).to_have_count(0)
    expect(thread_link(page, "Bulk 2")).to_have_count(0)
    expect(thread_link(page, "Bulk 3")).to_be_visible()
    eventually(
        page,
        lambda: [read_thread(web_server, web_user, i)["is_archived"] for i in ids],
        [True, True, False],
    )


# -- prompts -------------------------------------------------------------------------


def test_prompt_with_variables_fills_the_composer_and_is_sent(
    signed_in_page: Page, web_server: WebServer, fake_llm: FakeLlm
) -> None:
    page = signed_in_page
    page.get_by_role("link", name="Prompts").click()
    page.get_by_role("button", name="New prompt").click()
    dialog = page.get_by_role("dialog", name="New prompt")
    dialog.get_by_label("Title").fill("Translate")
    dialog.get_by_label("Prompt", exact=True).fill(
        "Translate {text} into {language}, politely."
    )
    dialog.get_by_role("button", name="Create prompt").click()
    expect(page.get_by_role("heading", name="Translate")).to_be_visible()

    page.get_by_role("button", name="Use Translate").click()
    use = page.get_by_role("dialog", name=re.compile("Use .Translate."))
    use.get_by_label("Text").fill("good morning")
    use.get_by_label("Language").fill("French")
    expect(use).to_contain_text("Translate good morning into French, politely.")
    use.get_by_role("button", name="Use in chat").click()

    expect(composer(page)).to_have_value(
        "Translate good morning into French, politely."
    )
    fake_llm.stream("Bonjour, poliment.", tokens=4)
    page.get_by_role("button", name="Send message").click()
    expect(answers(page).last).to_contain_text("Bonjour, poliment.")
    sent = fake_llm.requests[-1].json["messages"][-1]["content"]
    assert "Translate good morning into French, politely." in json.dumps(sent)


# -- first run -----------------------------------------------------------------------


def test_user_without_a_model_is_told_why(
    keyless_hub: WebServer, signed_in_page: Page
) -> None:
    page = signed_in_page
    page.reload()
    notice = page.get_by_role("region", name="No model is available to you")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Ask your administrator")
    expect(page.get_by_role("combobox", name=re.compile("model", re.I))).to_have_count(
        0
    )


def test_first_run_admin_adds_a_key_tests_it_and_chats(
    keyless_hub: WebServer, admin_page: Page, fake_llm: FakeLlm
) -> None:
    page = admin_page
    page.reload()
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Set up aihub")).to_be_visible()
    page.get_by_label("Provider").select_option("openai")
    page.get_by_label("API key").fill(GLOBAL_KEY)
    page.get_by_label(re.compile("^Base URL")).fill(
        keyless_hub.upstream.base_url("openai")
    )
    page.get_by_label("Name (optional)").fill("fake upstream")
    page.get_by_role("button", name="Save key").click()

    fake_llm.stream("pong", tokens=1)
    test_button = page.get_by_role("button", name="Test fake upstream key")
    expect(test_button).to_be_enabled()
    before = len(fake_llm.requests)
    test_button.click()
    expect(page.get_by_role("status").filter(has_text="Works")).to_contain_text("pong")
    assert len(fake_llm.requests) == before + 1  # one real call went out

    page.get_by_role("button", name="Start your first chat").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(composer(page)).to_be_visible()
    fake_llm.stream("Hello from the first chat.", tokens=5)
    composer(page).fill("Hi!")
    page.get_by_role("button", name="Send message").click()
    expect(answers(page).last).to_contain_text("Hello from the first chat.")


# -- an expired session --------------------------------------------------------------


def test_reauth_dialog_keeps_the_typed_text(
    signed_in_page: Page, web_server: WebServer, web_user: Account
) -> None:
    page = signed_in_page
    make_thread(web_server, web_user, "Existing thread")
    page.reload()
    draft = "A long question I was typing when my session ended"
    composer(page).fill(draft)
    # The password changes elsewhere: every token issued before it stops working.
    web_server.api(
        "PUT",
        "/api/users/me",
        web_user,
        json={"password": "a-brand-new-password-2"},
        expect=200,
    )
    page.get_by_role("searchbox", name="Search threads").fill("Existing")

    dialog = page.get_by_role("dialog", name="Session expired")
    expect(dialog).to_be_visible()
    expect(composer(page)).to_have_value(draft)
    dialog.get_by_label("Password").fill("a-brand-new-password-2")
    dialog.get_by_role("button", name="Sign in again").click()
    expect(dialog).to_be_hidden()
    expect(page).not_to_have_url(re.compile(r"/login"))
    expect(composer(page)).to_have_value(draft)
    # the call that failed was retried with the new session
    expect(thread_link(page, "Existing thread")).to_be_visible()
