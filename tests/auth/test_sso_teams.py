"""SSO groups land people in teams: sign-ins through the stand-in OpenID
Connect provider (groups claim ``groups``) and the stand-in of GitHub's OAuth
2.0 (organizations and teams), the whole flow over HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from aihub.core.settings import Settings
from aihub.providers.base import Usage
from aihub.runtime import runtime_of
from aihub.usage.recording import cost_of
from tests.auth.sso_flow import (
    ALICE,
    audit_entries,
    session_token,
    session_user,
    sign_in,
    sso_settings,
    to_provider,
)
from tests.auth.sso_standin import IdentityProvider
from tests.chat.helpers import add_key
from tests.factories import Account, admin_headers
from tests.fakes.upstream import FakeUpstream, FakeUsage, Reply
from tests.teams.support import make_team

MODEL = "gpt-4o-mini"
USAGE = FakeUsage(prompt_tokens=1000, completion_tokens=500)
CALL_COST = cost_of("openai", MODEL, Usage(1000, 500, total_tokens=1500))


@pytest.fixture
def settings(settings: Settings, idp: IdentityProvider) -> Settings:
    return sso_settings(settings, idp).model_copy(update={"oauth_github_groups": True})


async def _signed_in(
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    idp: IdentityProvider,
    groups: list[str],
) -> Account:
    """Alice signs in through ``corp`` with these groups; her account."""
    idp.person["groups"] = groups
    done = await sign_in(client, browser)
    assert done.status_code == 302, done.text
    token = await session_token(client)
    me = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    return Account(me.json()["id"], ALICE["email"], "alice", "", token)


async def _roles(client: httpx.AsyncClient, person: Account) -> dict[str, str]:
    """The person's teams, by name, with their role in each."""
    teams = await client.get("/api/teams/", headers=person.headers)
    assert teams.status_code == 200, teams.text
    return {team["name"]: team["role"] for team in teams.json()}


async def _membership(
    client: httpx.AsyncClient, team: dict[str, Any], user_id: int
) -> tuple[str, str] | None:
    """(role, source) of the user in the team, None when not in it."""
    members = await client.get(
        f"/api/teams/{team['id']}/members", headers=await admin_headers(client)
    )
    found = [m for m in members.json() if m["user_id"] == user_id]
    return (found[0]["role"], found[0]["source"]) if found else None


async def _add_by_hand(
    client: httpx.AsyncClient, team: dict[str, Any], user_id: int, role: str
) -> None:
    added = await client.post(
        f"/api/teams/{team['id']}/members",
        json={"user_id": user_id, "role": role},
        headers=await admin_headers(client),
    )
    assert added.status_code == 201, added.text


class TestOidcGroups:
    async def test_groups_land_in_the_matching_teams_with_their_roles(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        eng = await make_team(client, name="Engineering", sso_groups=["engineering"])
        await make_team(
            client,
            name="Platform",
            sso_groups=["engineering"],
            sso_owner_groups=["platform-leads"],
        )
        await make_team(client, name="Leads", sso_owner_groups=["platform-leads"])
        await make_team(client, name="Sales", sso_groups=["sales"])
        await make_team(client, name="Unmapped")
        alice = await _signed_in(
            client, browser, idp, ["staff", "engineering", "platform-leads"]
        )
        assert await _roles(client, alice) == {
            "Engineering": "member",
            "Platform": "owner",
            "Leads": "owner",
        }
        assert await _membership(client, eng, alice.id) == ("member", "sso")

    async def test_a_lost_group_removes_the_sso_membership_not_a_manual_one(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        by_sso = await make_team(client, name="By SSO", sso_groups=["engineering"])
        by_hand = await make_team(client, name="By hand", sso_groups=["engineering"])
        owned = await make_team(client, name="Owned", sso_groups=["engineering"])
        raised = await make_team(client, name="Raised", sso_owner_groups=["leads"])
        alice = await _signed_in(client, browser, idp, [])
        assert await _roles(client, alice) == {}
        await _add_by_hand(client, by_hand, alice.id, "member")
        await _add_by_hand(client, owned, alice.id, "owner")
        await _add_by_hand(client, raised, alice.id, "member")

        alice = await _signed_in(client, browser, idp, ["engineering", "leads"])
        assert await _roles(client, alice) == {
            "By SSO": "member",
            "By hand": "member",
            "Owned": "owner",  # the member group does not demote a manual owner
            "Raised": "member",  # nor does an owner group change a manual member
        }
        assert await _membership(client, by_hand, alice.id) == ("member", "manual")

        alice = await _signed_in(client, browser, idp, ["staff"])
        assert await _roles(client, alice) == {
            "By hand": "member",
            "Owned": "owner",
            "Raised": "member",
        }
        assert await _membership(client, by_sso, alice.id) is None

    async def test_the_role_follows_the_groups(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        await make_team(
            client, name="Data", sso_groups=["data"], sso_owner_groups=["data-leads"]
        )
        alice = await _signed_in(client, browser, idp, ["data", "data-leads"])
        assert await _roles(client, alice) == {"Data": "owner"}
        alice = await _signed_in(client, browser, idp, ["data"])
        assert await _roles(client, alice) == {"Data": "member"}
        alice = await _signed_in(client, browser, idp, ["data-leads"])
        assert await _roles(client, alice) == {"Data": "owner"}

    async def test_qualified_groups_match_only_their_provider(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        await make_team(client, name="Corp eng", sso_groups=["corp:engineering"])
        await make_team(client, name="GitHub eng", sso_groups=["github:engineering"])
        await make_team(client, name="Corp ops", sso_groups=["corp:ops"])
        # Not a provider's name before the colon: a group named so.
        await make_team(client, name="URN", sso_groups=["urn:corp:eng"])
        alice = await _signed_in(client, browser, idp, ["engineering", "urn:corp:eng"])
        assert await _roles(client, alice) == {"Corp eng": "member", "URN": "member"}

    async def test_an_accepted_invitation_makes_an_sso_membership_manual(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        team = await make_team(client, name="Invited", sso_groups=["engineering"])
        alice = await _signed_in(client, browser, idp, ["engineering"])
        assert await _membership(client, team, alice.id) == ("member", "sso")
        invited = await client.post(
            f"/api/teams/{team['id']}/invitations",
            json={"email": ALICE["email"], "role": "member"},
            headers=await admin_headers(client),
        )
        token = invited.json()["token"]
        accepted = await client.post(
            f"/api/invitations/{token}/accept", headers=alice.headers
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["source"] == "manual"
        alice = await _signed_in(client, browser, idp, [])
        assert await _membership(client, team, alice.id) == ("member", "manual")

    async def test_changes_are_audited_with_the_person_as_actor_via_sso(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        team = await make_team(
            client, name="Audited", sso_groups=["eng"], sso_owner_groups=["leads"]
        )
        alice = await _signed_in(client, browser, idp, ["eng"])
        await _signed_in(client, browser, idp, ["eng"])  # nothing changes
        await _signed_in(client, browser, idp, ["leads"])
        await _signed_in(client, browser, idp, [])
        entries = await audit_entries(client, "team.member.")
        by_sso = [
            (e["action"], e["detail"].get("role"), e["detail"].get("groups"))
            for e in reversed(entries)
            if e["detail"].get("via") == "sso"
        ]
        assert by_sso == [
            ("team.member.add", "member", ["eng"]),
            ("team.member.update", "owner", ["leads"]),
            ("team.member.remove", None, None),
        ]
        for entry in entries:
            if entry["detail"].get("via") == "sso":
                assert entry["actor_id"] == alice.id
                assert entry["target_type"] == "team"
                assert entry["target_id"] == str(team["id"])
                assert entry["detail"]["user_id"] == alice.id

    async def test_another_providers_sign_in_keeps_the_others_groups(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        """Memberships follow the groups of every linked provider, each as
        sent at its last sign-in: signing in through Discord (no groups) keeps
        what the corp identity's groups give."""
        await make_team(client, name="Kept", sso_groups=["corp:engineering"])
        alice = await _signed_in(client, browser, idp, ["engineering"])
        idp.discord_user["email"] = ALICE["email"]
        done = await sign_in(client, browser, "discord")
        assert done.status_code == 302, done.text
        assert (await session_user(client))["id"] == alice.id
        assert await _roles(client, alice) == {"Kept": "member"}


class TestGitHubGroups:
    async def test_orgs_and_teams_are_groups(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        idp.github_orgs = [{"login": "Octo-Org", "id": 1}, {"login": "other", "id": 2}]
        idp.github_teams = [
            {"id": 7, "slug": "ml", "name": "ML", "organization": {"login": "Octo-Org"}}
        ]
        await make_team(client, name="Octo", sso_groups=["github:octo-org"])
        await make_team(client, name="ML", sso_owner_groups=["github:octo-org/ml"])
        await make_team(client, name="Not GitHub", sso_groups=["corp:octo-org"])
        authorize = urlsplit(await to_provider(client, "github"))
        assert "read:org" in parse_qs(authorize.query)["scope"][0].split()
        done = await sign_in(client, browser, "github")
        assert done.status_code == 302, done.text
        token = await session_token(client)
        octo = Account(0, "octo@corp.example", "octo-cat", "", token)
        assert await _roles(client, octo) == {"Octo": "member", "ML": "owner"}

        idp.github_orgs, idp.github_teams = [], []
        assert (await sign_in(client, browser, "github")).status_code == 302
        octo.token = await session_token(client)
        assert await _roles(client, octo) == {}

    async def test_without_the_setting_no_org_is_read(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        runtime_of(app).settings.oauth_github_groups = False
        idp.github_orgs = [{"login": "octo-org", "id": 1}]
        await make_team(client, name="Octo", sso_groups=["github:octo-org"])
        authorize = urlsplit(await to_provider(client, "github"))
        assert parse_qs(authorize.query)["scope"] == ["read:user user:email"]
        assert (await sign_in(client, browser, "github")).status_code == 302
        token = await session_token(client)
        octo = Account(0, "octo@corp.example", "octo-cat", "", token)
        assert await _roles(client, octo) == {}


class TestTeamLimitsAfterSso:
    async def test_the_teams_models_and_budget_hold_and_leaving_ends_the_key(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
        fake_upstream: FakeUpstream,
    ) -> None:
        team = await make_team(
            client,
            name="Limited",
            models=[MODEL],
            budget_usd=CALL_COST / 2,
            sso_owner_groups=["leads"],
        )
        alice = await _signed_in(client, browser, idp, ["leads"])
        await add_key(client, alice, fake_upstream, "sk-sso-team")
        fake_upstream.script("sk-sso-team", default=Reply(usage=USAGE))
        made = await client.post(
            "/api/gateway-keys/",
            json={"name": "team key", "team_id": team["id"]},
            headers=alice.headers,
        )
        assert made.status_code == 201, made.text
        bearer = {"Authorization": f"Bearer {made.json()['key']}"}

        async def chat(model: str = MODEL) -> httpx.Response:
            body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
            return await client.post("/v1/chat/completions", json=body, headers=bearer)

        other_model = await chat("gpt-4o")
        assert other_model.status_code == 403, other_model.text
        assert "team" in other_model.json()["error"]["message"]
        assert fake_upstream.requests == []
        first = await chat()
        assert first.status_code == 200, first.text
        over = await chat()
        assert over.status_code == 402, over.text
        assert over.json()["error"]["type"] == "insufficient_quota"
        assert len(fake_upstream.requests) == 1

        await _signed_in(client, browser, idp, [])  # no longer in the group
        gone = await chat()
        assert gone.status_code == 401, gone.text
