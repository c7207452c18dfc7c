"""The admin screens: users and roles (change a role, deactivate: the user's
token stops working), global keys, the request log, system status; and a
normal user is kept out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.conftest import FakeLlm, WebServer
from tests.factories import Account


def test_admin_manages_users_and_sees_the_system(
    admin_page: Page,
    fake_llm: FakeLlm,
    web_server: WebServer,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    member = web_server.new_user()
    web_server.api(
        "POST",
        "/api/ask",
        member,
        json={
            "question": "Admin log check?",
            "provider": "openai",
            "model": "gpt-4o-mini",
        },
        expect=200,
    )
    page = admin_page
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    nav = page.get_by_role("navigation", name="Administration sections")
    expect(nav.get_by_role("link", name="Users")).to_have_attribute(
        "aria-current", "page"
    )

    page.get_by_label("Search users").fill(member.username)
    row = page.get_by_role("row", name=member.username)
    expect(row).to_contain_text(member.email)
    expect(page.get_by_role("row")).to_have_count(2)  # header + the match
    axe(page)
    shot(page, "admin-users")

    row.get_by_label(f"Role of {member.username}").select_option("admin")
    page.get_by_role("dialog", name="Change this user?").get_by_role(
        "button", name="Confirm"
    ).click()
    expect(row.get_by_label(f"Role of {member.username}")).to_have_value("admin")
    me = web_server.api("GET", "/api/users/me", member, expect=200).json()
    assert me["role"] == "admin"

    row.get_by_role("button", name=f"Deactivate {member.username}").click()
    page.get_by_role("dialog", name="Change this user?").get_by_role(
        "button", name="Confirm"
    ).click()
    expect(row).to_contain_text("Deactivated")
    assert web_server.api("GET", "/api/users/me", member).status_code in (401, 403)

    # the global key the hub runs on, with its health
    nav.get_by_role("link", name="Global keys").click()
    expect(page).to_have_url(web_server.url + "/admin/keys")
    key_row = page.get_by_role("row", name="fake upstream")
    expect(key_row).to_contain_text("OpenAI")
    expect(key_row).to_contain_text("OK")

    # every user's requests, newest first
    nav.get_by_role("link", name="Requests").click()
    log = page.get_by_role("table", name="Requests, newest first")
    first = log.get_by_role("row").nth(1)
    expect(first).to_contain_text("Admin log check?")
    expect(first).to_contain_text("gpt-4o-mini")
    expect(first).to_contain_text(str(member.id))
    axe(page)

    # database (SQLite here, no Redis), key pools, voice engines
    nav.get_by_role("link", name="System status").click()
    infra = page.get_by_role("region", name="Database and Redis")
    expect(infra).to_contain_text("Database")
    expect(infra.get_by_text("ok", exact=True).first).to_be_visible()
    expect(infra).to_contain_text("not configured")
    pools = page.get_by_role("region", name="Provider key pools")
    expect(pools.get_by_role("row", name="openai")).to_contain_text("OK")
    expect(page.get_by_role("region", name="Voice")).to_contain_text("Live sessions")
    axe(page)
    # the notices of the changes above fade out by themselves
    expect(page.get_by_role("button", name="Dismiss notice")).to_have_count(
        0, timeout=10_000
    )
    shot(page, "admin-status")


def test_a_normal_user_is_kept_out(
    signed_in_page: Page, web_server: WebServer, web_user: Account
) -> None:
    page = signed_in_page
    page.goto("/admin/users")
    expect(page.get_by_text("This area is for administrators.")).to_be_visible()
    expect(page.get_by_role("table")).to_have_count(0)
    refused = web_server.api("GET", "/api/admin/users", web_user)
    assert refused.status_code == 403
