"""Teams, sessions and the audit log in the browser (issue 17's screens): an
administrator creates a team and invites a user by e-mail; the user accepts the
one-time link and sees the team; the user's sessions list shows this browser
and "sign out everywhere" ends it; the administrator reads the audit trail.
An administrator maps SSO groups to a team, and a person signing in through
the stand-in OpenID Connect provider lands in it, marked "via SSO"."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from aihub.core.settings import OidcProviderSettings
from tests.auth.sso_standin import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.conftest import LiveServer
from tests.e2e.conftest import FakeLlm, WebServer
from tests.factories import Account


def test_team_invitation_sessions_and_audit(
    admin_page: Page,
    signed_in_page: Page,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    team_name = f"Research {web_user.id}"
    admin = admin_page

    # the administrator creates the team
    admin.goto("/teams")
    expect(admin.get_by_role("heading", name="Teams", level=1)).to_be_visible()
    admin.get_by_role("button", name="Create team").click()
    dialog = admin.get_by_role("dialog", name="Create a team")
    dialog.get_by_label("Team name").fill(team_name)
    dialog.get_by_label("Description (optional)").fill("Model evaluations")
    dialog.get_by_role("button", name="Create team").click()
    expect(admin.get_by_role("heading", name=team_name, level=1)).to_be_visible()
    team_id = int(admin.url.rsplit("/", 1)[1])

    # limits: the administrator sets the monthly budget (owners cannot)
    limits = admin.get_by_role("form", name=f"Limits of {team_name}")
    limits.get_by_label("Requests per minute").fill("30")
    limits.get_by_label("Monthly budget (USD)").fill("25")
    limits.get_by_role("button", name="Save limits").click()
    expect(admin.get_by_text("Limits saved")).to_be_visible()
    team = web_server.api("GET", f"/api/teams/{team_id}", web_server.admin, expect=200)
    assert team.json()["rpm"] == 30
    assert team.json()["budget_usd"] == 25

    # ... and invites the user by e-mail: the link is shown once
    invite = admin.get_by_role("form", name="Invite by e-mail")
    invite.get_by_label("E-mail to invite").fill(web_user.email)
    invite.get_by_role("button", name="Invite").click()
    shown = admin.get_by_role("dialog", name="Invitation link")
    link_box = shown.get_by_label(f"Link for {web_user.email}")
    link = link_box.input_value()
    assert link.startswith(f"{web_server.url}/invitations/"), link
    axe(admin)
    shot(admin, "team-invite")
    shown.get_by_role("button", name="Done").click()
    expect(shown).to_be_hidden()
    expect(admin.locator(f'input[value="{link}"]')).to_have_count(0)

    # the user follows the link, accepts, and lands on the team's page
    user = signed_in_page
    user.goto(link.removeprefix(web_server.url))
    expect(user.get_by_role("heading", name="Team invitation")).to_be_visible()
    axe(user)
    user.get_by_role("button", name="Accept invitation").click()
    expect(user.get_by_role("heading", name=team_name, level=1)).to_be_visible()
    members = user.get_by_role("table", name=f"Members of {team_name}")
    expect(members.get_by_role("row", name=web_user.username)).to_contain_text("member")
    # a member reads the limits but does not change them
    limits = user.get_by_role("form", name=f"Limits of {team_name}")
    expect(limits.get_by_label("Requests per minute")).to_have_value("30")
    expect(limits.get_by_label("Monthly budget (USD)")).to_have_value("25")
    expect(limits.get_by_role("button", name="Save limits")).to_have_count(0)
    expect(user.get_by_text("Set by an administrator")).to_be_visible()
    expect(user.get_by_role("region", name="Spend")).to_contain_text("$")
    # the team switcher in the sidebar and the teams list know the team
    switcher = user.get_by_role("navigation", name="Your teams")
    expect(switcher.get_by_role("link", name=team_name)).to_be_visible()
    user.goto("/teams")
    expect(user.get_by_role("row", name=team_name)).to_contain_text("member")
    axe(user)
    shot(user, "teams")

    # the owner's view of the team page: members, limits, spend
    admin.reload()
    expect(
        admin.get_by_role("table", name=f"Members of {team_name}").get_by_role(
            "row", name=web_user.username
        )
    ).to_be_visible()
    axe(admin)
    shot(admin, "team", full_page=True)

    # the user's sessions: this browser is one of them
    user.goto("/account")
    expect(user.get_by_role("heading", name="Account", level=1)).to_be_visible()
    sessions = user.get_by_role("table", name="Active sessions")
    expect(sessions.get_by_role("row").filter(has_text="this device")).to_have_count(1)
    listed = web_server.api("GET", "/api/auth/sessions", web_user, expect=200).json()
    assert [s["id"] for s in listed if s["current"]], listed
    axe(user)
    shot(user, "account-sessions")

    # the administrator reads the audit trail of all this, filtered
    admin.goto("/admin/audit")
    nav = admin.get_by_role("navigation", name="Administration sections")
    expect(nav.get_by_role("link", name="Audit log")).to_have_attribute(
        "aria-current", "page"
    )
    admin.get_by_role("textbox", name="Action", exact=True).fill("team.")
    log = admin.get_by_role("table", name="Audit log, newest first")
    expect(log.get_by_role("row").nth(1)).to_contain_text("team.invitation.accept")
    expect(log).to_contain_text("team.invitation.create")
    expect(log).to_contain_text("team.create")
    expect(log.get_by_role("row").filter(has_text="auth.")).to_have_count(0)
    admin.get_by_label("Actor (user id)").fill(str(web_user.id))
    expect(log.get_by_role("row").nth(1)).to_contain_text("team.invitation.accept")
    expect(log.get_by_role("row")).to_have_count(2)  # header + the user's accept
    axe(admin)
    shot(admin, "admin-audit")

    # sign out everywhere: back to the sign-in page, and the token is dead
    user.get_by_role("button", name="Sign out everywhere").click()
    user.get_by_role("dialog", name="Sign out everywhere?").get_by_role(
        "button", name="Sign out all sessions"
    ).click()
    expect(user).to_have_url(f"{web_server.url}/login")
    assert web_server.api("GET", "/api/users/me", web_user).status_code == 401


def test_an_owner_makes_a_team_gateway_key(
    signed_in_page: Page,
    fake_llm: FakeLlm,
    web_server: WebServer,
    web_user: Account,
    axe: Callable[..., Any],
) -> None:
    """The key form bills a key to a team the user owns; the team page then
    shows the key's and the member's calls this month."""
    team = web_server.api(
        "POST",
        "/api/teams/",
        web_server.admin,
        json={"name": f"Keys team {web_user.id}"},
        expect=201,
    ).json()
    web_server.api(
        "POST",
        f"/api/teams/{team['id']}/members",
        web_server.admin,
        json={"user_id": web_user.id, "role": "owner"},
        expect=201,
    )
    page = signed_in_page
    page.goto("/keys")
    page.get_by_role("button", name="Create gateway key").click()
    dialog = page.get_by_role("dialog", name="Create a gateway key")
    dialog.get_by_label("Name").fill("team script")
    dialog.get_by_label("Billed to").select_option(label=f"Team {team['name']}")
    axe(page)
    dialog.get_by_role("button", name="Create key").click()
    secret_dialog = page.get_by_role("dialog", name="Your new gateway key")
    secret = secret_dialog.get_by_label("Key for team script").input_value()
    secret_dialog.get_by_role("button", name="Done").click()
    expect(page.get_by_role("row", name="team script")).to_contain_text(team["name"])
    keys = web_server.api("GET", "/api/gateway-keys/", web_user, expect=200).json()
    assert [k["team_id"] for k in keys if k["name"] == "team script"] == [team["id"]]

    # one call through the team key shows up on the team's page
    fake_llm.stream("Team answer.")
    web_server.api(
        "POST",
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {secret}"},
        json={
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Hello team"}],
        },
        expect=200,
    )
    # the call log is written in batches: wait for the call to be in it
    usage = f"/api/statistics/usage?team_id={team['id']}"
    for _ in range(200):
        stats = web_server.api("GET", usage, web_user, expect=200).json()
        if stats["total_requests"]:
            break
        time.sleep(0.05)
    assert stats["total_requests"] == 1, stats
    page.goto(f"/teams/{team['id']}")
    per_key = page.get_by_role("table", name="Per team key this month")
    expect(per_key.get_by_role("row", name="team script")).to_contain_text("1")
    per_member = page.get_by_role("table", name="Per member this month")
    expect(per_member.get_by_role("row", name=web_user.username)).to_be_visible()
    # an owner edits limits but not the budget
    limits = page.get_by_role("form", name=f"Limits of {team['name']}")
    expect(limits.get_by_label("Monthly budget (USD)")).to_have_attribute(
        "readonly", ""
    )
    limits.get_by_label("Tokens per minute").fill("5000")
    limits.get_by_role("button", name="Save limits").click()
    expect(page.get_by_text("Limits saved")).to_be_visible()
    saved = web_server.api("GET", f"/api/teams/{team['id']}", web_user, expect=200)
    assert saved.json()["tpm"] == 5000
    axe(page)


def test_an_invitee_without_an_account_registers_then_joins(
    page: Page, web_server: WebServer
) -> None:
    """The invitation link, opened signed out, goes through sign-in and
    registration and comes back to the invitation."""
    email = f"invitee-{os.getpid()}@example.com"
    team = web_server.api(
        "POST",
        "/api/teams/",
        web_server.admin,
        json={"name": f"Newcomers {os.getpid()}"},
        expect=201,
    ).json()
    invitation = web_server.api(
        "POST",
        f"/api/teams/{team['id']}/invitations",
        web_server.admin,
        json={"email": email},
        expect=201,
    ).json()
    page.goto(invitation["link"])
    expect(page).to_have_url(re.compile(r"/login\?next=%2Finvitations%2F"))
    page.get_by_role("link", name="Create an account").click()
    # the form of the (lazily loaded) registration page, not the sign-in one
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Username").fill(f"invitee{os.getpid()}")
    page.get_by_label("Password").fill("invitee-password-1")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Team invitation")).to_be_visible()
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_role("heading", name=team["name"], level=1)).to_be_visible()
    expect(page).to_have_url(f"{web_server.url}/teams/{team['id']}")
    # the link works once
    page.goto(invitation["link"])
    page.get_by_role("button", name="Accept invitation").click()
    expect(page.get_by_role("alert")).to_be_visible()


@pytest.fixture
def corp_sso(web_server: WebServer) -> Iterator[IdentityProvider]:
    """The stand-in OpenID Connect provider, configured on the running hub as
    ``corp`` (groups claim ``groups``) for this test only."""
    provider = IdentityProvider()
    server = LiveServer(provider.app())
    server.start()
    provider.base_url = server.url
    web_server.settings.oidc_providers["corp"] = OidcProviderSettings(
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        groups_claim="groups",
        label="Corp SSO",
    )
    try:
        yield provider
    finally:
        del web_server.settings.oidc_providers["corp"]
        server.stop()


def test_sso_groups_fill_a_team(
    admin_page: Page,
    page: Page,
    corp_sso: IdentityProvider,
    web_server: WebServer,
    axe: Callable[..., Any],
    shot: Callable[..., Path],
) -> None:
    suffix = str(int(time.time() * 1000))
    team = web_server.api(
        "POST",
        "/api/teams/",
        web_server.admin,
        json={"name": f"Engineering {suffix}"},
        expect=201,
    ).json()

    # the administrator names the team's SSO groups on its page
    admin = admin_page
    admin.goto(f"/teams/{team['id']}")
    form = admin.get_by_role("form", name=f"SSO groups of {team['name']}")
    form.get_by_label("SSO groups (members)").fill("corp:engineering\nstaff")
    form.get_by_label("SSO groups (owners)").fill("corp:eng-leads")
    form.get_by_role("button", name="Save SSO groups").click()
    expect(admin.get_by_text("SSO groups saved")).to_be_visible()
    saved = web_server.api(
        "GET", f"/api/teams/{team['id']}", web_server.admin, expect=200
    ).json()
    assert saved["sso_groups"] == ["corp:engineering", "staff"]
    assert saved["sso_owner_groups"] == ["corp:eng-leads"]

    # a person signs in through the provider and lands in the team
    corp_sso.person = {
        "sub": f"sso-{suffix}",
        "email": f"sso-{suffix}@corp.example",
        "email_verified": True,
        "preferred_username": f"sso-{suffix}",
        "groups": ["engineering"],
    }
    page.goto("/login")
    page.get_by_role("link", name="Sign in with Corp SSO").click()
    expect(page.get_by_role("navigation", name="Your teams")).to_contain_text(
        team["name"]
    )
    page.goto(f"/teams/{team['id']}")
    expect(page.get_by_role("heading", name=team["name"], level=1)).to_be_visible()
    mine = page.get_by_role("table", name=f"Members of {team['name']}")
    row = mine.get_by_role("row", name=re.compile(f"sso-{suffix}"))
    expect(row).to_contain_text("via SSO")
    # a member reads the groups, and cannot change them
    sso = page.get_by_role("region", name="Single sign-on")
    expect(sso).to_contain_text("corp:engineering, staff")
    expect(sso.get_by_role("button", name="Save SSO groups")).to_have_count(0)
    axe(page)

    admin.reload()
    members = admin.get_by_role("table", name=f"Members of {team['name']}")
    row = members.get_by_role("row", name=re.compile(f"sso-{suffix}"))
    expect(row).to_contain_text("via SSO")
    axe(admin)
    admin.get_by_role("region", name="Single sign-on").scroll_into_view_if_needed()
    shot(admin, "team-sso")
