"""/api/teams: who may do what, and no team leaks to a non-member."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import admin_headers, make_user
from tests.teams.support import make_team, team_with_people

pytestmark = pytest.mark.shared_app

TEAM_FIELDS = {
    "id",
    "name",
    "description",
    "models",
    "rpm",
    "tpm",
    "budget_usd",
    "sso_groups",
    "sso_owner_groups",
    "spend_usd",
    "role",
    "created_at",
    "updated_at",
}


def _error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_type"] == error_type
    assert body["error_message"]


class TestCreate:
    async def test_admin_creates_a_team(self, client: httpx.AsyncClient) -> None:
        admin = await admin_headers(client)
        response = await client.post(
            "/api/teams/",
            json={
                "name": "Research",
                "models": ["gpt-4o*", "gpt-4o*"],
                "rpm": 60,
                "tpm": 100000,
                "budget_usd": 25.5,
            },
            headers=admin,
        )
        assert response.status_code == 201, response.text
        team = response.json()
        assert set(team) == TEAM_FIELDS
        assert team["models"] == ["gpt-4o*"]
        assert (team["rpm"], team["tpm"], team["budget_usd"]) == (60, 100000, 25.5)
        assert team["spend_usd"] == 0.0
        assert team["role"] is None

    async def test_a_user_may_not_create_a_team(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        response = await client.post(
            "/api/teams/", json={"name": "Mine"}, headers=user.headers
        )
        _error(response, 403, "forbidden")

    async def test_names_are_unique_case_insensitively(
        self, client: httpx.AsyncClient
    ) -> None:
        await make_team(client, name="Sales")
        admin = await admin_headers(client)
        response = await client.post(
            "/api/teams/", json={"name": "sales"}, headers=admin
        )
        _error(response, 409, "conflict")

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"name": ""},
            {"name": "x", "budget_usd": -1},
            {"name": "x", "rpm": 0},
            {"name": "x", "surprise": 1},
            {"name": "x\ny"},
            {"name": "x", "sso_groups": [""]},
            {"name": "x", "sso_groups": ["a\nb"]},
            {"name": "x", "sso_owner_groups": ["g" * 256]},
            {"name": "x", "sso_groups": [f"g{i}" for i in range(101)]},
        ],
    )
    async def test_bad_bodies_are_422(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        admin = await admin_headers(client)
        response = await client.post("/api/teams/", json=body, headers=admin)
        _error(response, 422, "validation_error")

    async def test_anonymous_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/teams/", json={"name": "x"})
        _error(response, 401, "unauthorized")


class TestRead:
    async def test_users_list_only_their_teams(self, client: httpx.AsyncClient) -> None:
        team, owner, member, outsider = await team_with_people(client)
        other, *_ = await team_with_people(client)
        for person, role in ((owner, "owner"), (member, "member")):
            listed = (await client.get("/api/teams/", headers=person.headers)).json()
            assert [(t["id"], t["role"]) for t in listed] == [(team["id"], role)]
        assert (await client.get("/api/teams/", headers=outsider.headers)).json() == []
        everything = await client.get(
            "/api/teams/", headers=await admin_headers(client)
        )
        ids = {t["id"] for t in everything.json()}
        assert {team["id"], other["id"]} <= ids

    async def test_a_member_reads_the_team_and_its_members(
        self, client: httpx.AsyncClient
    ) -> None:
        team, owner, member, _ = await team_with_people(client)
        got = await client.get(f"/api/teams/{team['id']}", headers=member.headers)
        assert got.status_code == 200
        assert got.json()["role"] == "member"
        members = await client.get(
            f"/api/teams/{team['id']}/members", headers=member.headers
        )
        assert members.status_code == 200
        assert {(m["user_id"], m["role"], m["source"]) for m in members.json()} == {
            (owner.id, "owner", "manual"),
            (member.id, "member", "manual"),
        }

    async def test_a_non_member_gets_404_for_every_team_route(
        self, client: httpx.AsyncClient
    ) -> None:
        team, owner, member, outsider = await team_with_people(client)
        tid = team["id"]
        calls = [
            ("GET", f"/api/teams/{tid}", None),
            ("PUT", f"/api/teams/{tid}", {"name": "stolen"}),
            ("DELETE", f"/api/teams/{tid}", None),
            ("GET", f"/api/teams/{tid}/members", None),
            ("POST", f"/api/teams/{tid}/members", {"user_id": outsider.id}),
            ("PUT", f"/api/teams/{tid}/members/{member.id}", {"role": "owner"}),
            ("DELETE", f"/api/teams/{tid}/members/{member.id}", None),
            ("POST", f"/api/teams/{tid}/invitations", {"email": "a@example.com"}),
        ]
        missing = 2_000_000_000
        for method, path, body in calls:
            response = await client.request(
                method, path, json=body, headers=outsider.headers
            )
            _error(response, 404, "not_found")
            # The same answer as for a team that does not exist at all.
            response = await client.request(
                method,
                path.replace(f"/{tid}", f"/{missing}", 1),
                json=body,
                headers=outsider.headers,
            )
            _error(response, 404, "not_found")
        still = await client.get(f"/api/teams/{tid}/members", headers=owner.headers)
        assert len(still.json()) == 2


class TestUpdate:
    async def test_owner_edits_limits_but_not_the_budget(
        self, client: httpx.AsyncClient
    ) -> None:
        team, owner, member, _ = await team_with_people(client, budget_usd=10)
        path = f"/api/teams/{team['id']}"
        edited = await client.put(
            path, json={"rpm": 5, "models": ["gpt-4o-mini"]}, headers=owner.headers
        )
        assert edited.status_code == 200, edited.text
        assert (edited.json()["rpm"], edited.json()["models"]) == (5, ["gpt-4o-mini"])
        budget = await client.put(path, json={"budget_usd": 99}, headers=owner.headers)
        _error(budget, 403, "forbidden")
        by_member = await client.put(path, json={"rpm": 1}, headers=member.headers)
        _error(by_member, 403, "forbidden")
        admin = await admin_headers(client)
        raised = await client.put(path, json={"budget_usd": 99}, headers=admin)
        assert raised.json()["budget_usd"] == 99
        cleared = await client.put(path, json={"rpm": None}, headers=admin)
        assert cleared.json()["rpm"] is None
        assert cleared.json()["models"] == ["gpt-4o-mini"]

    async def test_only_an_admin_sets_the_sso_groups(
        self, client: httpx.AsyncClient
    ) -> None:
        team, owner, member, outsider = await team_with_people(client)
        admin = await admin_headers(client)
        viewer = await make_user(client)
        await client.post(
            f"/api/teams/{team['id']}/members",
            json={"user_id": viewer.id},
            headers=admin,
        )
        made = await client.patch(
            f"/api/admin/users/{viewer.id}", json={"role": "viewer"}, headers=admin
        )
        assert made.status_code == 200, made.text
        path = f"/api/teams/{team['id']}"
        for field in ("sso_groups", "sso_owner_groups"):
            for person in (owner, member, viewer):
                refused = await client.put(
                    path, json={field: ["corp:eng"]}, headers=person.headers
                )
                _error(refused, 403, "forbidden")
            hidden = await client.put(
                path, json={field: ["corp:eng"]}, headers=outsider.headers
            )
            _error(hidden, 404, "not_found")
        set_ = await client.put(
            path,
            json={
                "sso_groups": [" corp:eng ", "staff", "corp:eng"],
                "sso_owner_groups": ["/leads"],
            },
            headers=admin,
        )
        assert set_.status_code == 200, set_.text
        shown = await client.get(path, headers=member.headers)
        assert shown.json()["sso_groups"] == ["corp:eng", "staff"]
        assert shown.json()["sso_owner_groups"] == ["/leads"]
        cleared = await client.put(path, json={"sso_groups": None}, headers=admin)
        assert cleared.json()["sso_groups"] == []
        assert cleared.json()["sso_owner_groups"] == ["/leads"]

    async def test_a_team_is_created_with_its_sso_groups(
        self, client: httpx.AsyncClient
    ) -> None:
        team = await make_team(client, sso_groups=["eng"], sso_owner_groups=["lead"])
        assert (team["sso_groups"], team["sso_owner_groups"]) == (["eng"], ["lead"])
        plain = await make_team(client)
        assert (plain["sso_groups"], plain["sso_owner_groups"]) == ([], [])

    async def test_only_an_admin_deletes(self, client: httpx.AsyncClient) -> None:
        team, owner, _, _ = await team_with_people(client)
        path = f"/api/teams/{team['id']}"
        _error(await client.delete(path, headers=owner.headers), 403, "forbidden")
        admin = await admin_headers(client)
        assert (await client.delete(path, headers=admin)).status_code == 204
        _error(await client.get(path, headers=owner.headers), 404, "not_found")


class TestMembers:
    async def test_owner_adds_changes_and_removes_members(
        self, client: httpx.AsyncClient
    ) -> None:
        team, owner, _, newcomer = await team_with_people(client)
        base = f"/api/teams/{team['id']}/members"
        added = await client.post(
            base, json={"user_id": newcomer.id}, headers=owner.headers
        )
        assert added.status_code == 201, added.text
        assert added.json()["role"] == "member"
        again = await client.post(
            base, json={"user_id": newcomer.id}, headers=owner.headers
        )
        _error(again, 409, "conflict")
        promoted = await client.put(
            f"{base}/{newcomer.id}", json={"role": "owner"}, headers=owner.headers
        )
        assert promoted.json()["role"] == "owner"
        removed = await client.delete(f"{base}/{newcomer.id}", headers=owner.headers)
        assert removed.status_code == 204
        listed = await client.get(base, headers=owner.headers)
        assert newcomer.id not in {m["user_id"] for m in listed.json()}

    async def test_a_member_may_leave_but_not_remove_others(
        self, client: httpx.AsyncClient
    ) -> None:
        team, owner, member, _ = await team_with_people(client)
        base = f"/api/teams/{team['id']}/members"
        other = await client.delete(f"{base}/{owner.id}", headers=member.headers)
        _error(other, 403, "forbidden")
        add = await client.post(
            base, json={"user_id": owner.id}, headers=member.headers
        )
        _error(add, 403, "forbidden")
        left = await client.delete(f"{base}/{member.id}", headers=member.headers)
        assert left.status_code == 204
        gone = await client.get(f"/api/teams/{team['id']}", headers=member.headers)
        _error(gone, 404, "not_found")

    async def test_the_last_owner_stays(self, client: httpx.AsyncClient) -> None:
        team, owner, _, _ = await team_with_people(client)
        base = f"/api/teams/{team['id']}/members/{owner.id}"
        _error(await client.delete(base, headers=owner.headers), 409, "conflict")
        demote = await client.put(base, json={"role": "member"}, headers=owner.headers)
        _error(demote, 409, "conflict")

    async def test_unknown_user_and_non_member_are_404(
        self, client: httpx.AsyncClient
    ) -> None:
        team, owner, _, outsider = await team_with_people(client)
        base = f"/api/teams/{team['id']}/members"
        missing = await client.post(
            base, json={"user_id": 2_000_000_000}, headers=owner.headers
        )
        _error(missing, 404, "not_found")
        not_in = await client.put(
            f"{base}/{outsider.id}", json={"role": "owner"}, headers=owner.headers
        )
        _error(not_in, 404, "not_found")

    @pytest.mark.parametrize("role", ["admin", "viewer", "", None])
    async def test_bad_roles_are_422(
        self, client: httpx.AsyncClient, role: str | None
    ) -> None:
        team, owner, member, _ = await team_with_people(client)
        response = await client.put(
            f"/api/teams/{team['id']}/members/{member.id}",
            json={"role": role},
            headers=owner.headers,
        )
        _error(response, 422, "validation_error")
