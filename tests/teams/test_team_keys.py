"""Team gateway keys: who may make them, and the team's models, rpm and
monthly budget held on every door before the provider is called, in the
door's own error shape."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from aihub.providers.base import Usage
from aihub.usage.recording import cost_of
from tests.chat.helpers import add_key
from tests.conftest import LiveServer
from tests.factories import Account, admin_headers, make_user
from tests.fakes.upstream import FakeUpstream, FakeUsage, Reply
from tests.teams.support import team_with_people

MODEL = "gpt-4o-mini"
USAGE = FakeUsage(prompt_tokens=1000, completion_tokens=500)
CALL_COST = cost_of("openai", MODEL, Usage(1000, 500, total_tokens=1500))
assert CALL_COST > 0, "the catalog prices gpt-4o-mini"


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
        yield client


async def _team_key(
    http: httpx.AsyncClient, person: Account, team_id: int, **fields: Any
) -> httpx.Response:
    return await http.post(
        "/api/gateway-keys/",
        json={"name": "team key", "team_id": team_id, **fields},
        headers=person.headers,
    )


def _chat(stream: bool = False, model: str = MODEL) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": "hello"}],
        "stream": stream,
    }


def _messages(model: str = MODEL) -> dict[str, Any]:
    return {
        "model": model,
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "hello"}],
    }


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class TestWhoMakesTeamKeys:
    async def test_owner_and_admin_yes_member_403_outsider_404(
        self, http: httpx.AsyncClient
    ) -> None:
        team, owner, member, outsider = await team_with_people(http)
        made = await _team_key(http, owner, team["id"])
        assert made.status_code == 201, made.text
        assert made.json()["team_id"] == team["id"]
        assert (await _team_key(http, member, team["id"])).status_code == 403
        assert (await _team_key(http, outsider, team["id"])).status_code == 404
        admin = await admin_headers(http)
        by_admin = await http.post(
            "/api/gateway-keys/",
            json={"name": "k", "team_id": team["id"]},
            headers=admin,
        )
        assert by_admin.status_code == 201
        missing = await _team_key(http, owner, 2_000_000_000)
        assert missing.status_code == 404

    async def test_a_removed_owner_key_stops_working(
        self, http: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        team, owner, _, _ = await team_with_people(http)
        await add_key(http, owner, fake_upstream, "sk-team-removed")
        secret = (await _team_key(http, owner, team["id"])).json()["key"]
        ok = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(secret)
        )
        assert ok.status_code == 200, ok.text
        # Another owner is needed before this one may go.
        admin = await admin_headers(http)
        second = await make_user(http)
        base = f"/api/teams/{team['id']}/members"
        await http.post(
            base, json={"user_id": second.id, "role": "owner"}, headers=admin
        )
        gone = await http.delete(f"{base}/{owner.id}", headers=admin)
        assert gone.status_code == 204
        refused = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(secret)
        )
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "authentication_error"

    async def test_deleting_the_team_ends_its_keys(
        self, http: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        team, owner, _, _ = await team_with_people(http)
        await add_key(http, owner, fake_upstream, "sk-team-deleted")
        made = (await _team_key(http, owner, team["id"])).json()
        ok = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(made["key"])
        )
        assert ok.status_code == 200, ok.text
        admin = await admin_headers(http)
        deleted = await http.delete(f"/api/teams/{team['id']}", headers=admin)
        assert deleted.status_code == 204
        refused = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(made["key"])
        )
        assert refused.status_code == 401
        gone = await http.get(f"/api/gateway-keys/{made['id']}", headers=owner.headers)
        assert gone.status_code == 404


class TestTeamLimitsOnTheDoors:
    async def test_team_models_hold_in_each_door_shape(
        self, http: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        team, owner, _, _ = await team_with_people(http, models=["gpt-4o-mini"])
        await add_key(http, owner, fake_upstream, "sk-team-models")
        secret = (await _team_key(http, owner, team["id"])).json()["key"]
        openai_shape = await http.post(
            "/v1/chat/completions", json=_chat(model="gpt-4o"), headers=_bearer(secret)
        )
        assert openai_shape.status_code == 403
        assert openai_shape.json()["error"]["type"] == "permission_error"
        assert "team" in openai_shape.json()["error"]["message"]
        anthropic_shape = await http.post(
            "/v1/messages", json=_messages(model="gpt-4o"), headers=_bearer(secret)
        )
        assert anthropic_shape.status_code == 403
        assert anthropic_shape.json()["type"] == "error"
        assert anthropic_shape.json()["error"]["type"] == "permission_error"
        embeddings = await http.post(
            "/v1/embeddings",
            json={"model": "text-embedding-3-small", "input": "x"},
            headers=_bearer(secret),
        )
        assert embeddings.status_code == 403
        assert fake_upstream.requests == []  # nothing reached the provider
        allowed = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(secret)
        )
        assert allowed.status_code == 200, allowed.text

    async def test_team_rpm_is_shared_by_the_team_keys(
        self, http: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        team, owner, _, _ = await team_with_people(http, rpm=2)
        await add_key(http, owner, fake_upstream, "sk-team-rpm")
        first = (await _team_key(http, owner, team["id"])).json()["key"]
        second = (await _team_key(http, owner, team["id"])).json()["key"]
        for secret in (first, second):
            ok = await http.post(
                "/v1/chat/completions", json=_chat(), headers=_bearer(secret)
            )
            assert ok.status_code == 200, ok.text
        third = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(first)
        )
        assert third.status_code == 429
        assert third.json()["error"]["type"] == "rate_limit_error"
        assert "team" in third.json()["error"]["message"]
        assert int(third.headers["retry-after"]) >= 1
        # A personal key of the same owner is not held to the team's window.
        personal = await http.post(
            "/api/gateway-keys/", json={"name": "mine"}, headers=owner.headers
        )
        ok = await http.post(
            "/v1/chat/completions",
            json=_chat(),
            headers=_bearer(personal.json()["key"]),
        )
        assert ok.status_code == 200

    async def test_an_exhausted_budget_is_refused_before_the_provider(
        self, http: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        team, owner, _, _ = await team_with_people(http, budget_usd=CALL_COST / 2)
        await add_key(http, owner, fake_upstream, "sk-team-budget")
        fake_upstream.script("sk-team-budget", default=Reply(usage=USAGE))
        secret = (await _team_key(http, owner, team["id"])).json()["key"]
        first = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(secret)
        )
        assert first.status_code == 200, first.text
        sent = len(fake_upstream.requests)
        openai_shape = await http.post(
            "/v1/chat/completions", json=_chat(stream=True), headers=_bearer(secret)
        )
        assert openai_shape.status_code == 402
        assert openai_shape.json()["error"]["type"] == "insufficient_quota"
        assert "team" in openai_shape.json()["error"]["message"]
        anthropic_shape = await http.post(
            "/v1/messages", json=_messages(), headers=_bearer(secret)
        )
        assert anthropic_shape.status_code == 402
        assert anthropic_shape.json()["error"]["type"] == "billing_error"
        embeddings = await http.post(
            "/v1/embeddings",
            json={"model": "text-embedding-3-small", "input": "x"},
            headers=_bearer(secret),
        )
        assert embeddings.status_code == 402
        assert len(fake_upstream.requests) == sent
        # Another team key of the same team is refused too; an admin's raise
        # of the budget opens it again at once.
        other = (await _team_key(http, owner, team["id"])).json()["key"]
        refused = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(other)
        )
        assert refused.status_code == 402
        admin = await admin_headers(http)
        await http.put(
            f"/api/teams/{team['id']}",
            json={"budget_usd": CALL_COST * 10},
            headers=admin,
        )
        again = await http.post(
            "/v1/chat/completions", json=_chat(), headers=_bearer(other)
        )
        assert again.status_code == 200, again.text


async def _stream(http: httpx.AsyncClient, secret: str) -> int:
    """One streamed chat call; its status (200 only when the stream ended)."""
    async with http.stream(
        "POST", "/v1/chat/completions", json=_chat(stream=True), headers=_bearer(secret)
    ) as response:
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
        if response.status_code == 200:
            assert b"[DONE]" in body
        return response.status_code


class TestConcurrentBudget:
    async def test_concurrent_streams_spend_at_most_one_call_beyond_the_budget(
        self, http: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        """20 streamed calls at once against a budget of 3.5 calls: the team
        ends at 4 calls (one in flight beyond the budget in this process),
        never at 20, and the budget is usable (not refused below it)."""
        team, owner, _, _ = await team_with_people(http, budget_usd=CALL_COST * 3.5)
        await add_key(http, owner, fake_upstream, "sk-team-concurrent")
        fake_upstream.script(
            "sk-team-concurrent",
            default=Reply(usage=USAGE, chunks=4, chunk_delay=0.05),
        )
        secret = (await _team_key(http, owner, team["id"])).json()["key"]
        statuses = await asyncio.gather(*(_stream(http, secret) for _ in range(20)))
        ok = statuses.count(200)
        assert set(statuses) <= {200, 402}, statuses
        assert ok == 4, statuses
        assert len(fake_upstream.requests) == ok
        spent = await _team_spend(http, owner, team["id"], ok * CALL_COST)
        assert spent <= CALL_COST * 3.5 + CALL_COST


async def _team_spend(
    http: httpx.AsyncClient, person: Account, team_id: int, expected: float
) -> float:
    """The team's spend as GET /api/teams/{id} reports it, once the request
    log (written in batches) has every call."""
    spend = 0.0
    for _ in range(100):
        team = await http.get(f"/api/teams/{team_id}", headers=person.headers)
        spend = float(team.json()["spend_usd"])
        if spend >= expected - 1e-9:
            return spend
        await asyncio.sleep(0.05)
    raise AssertionError(f"team spend {spend}, expected {expected}")


class TestTeamStatistics:
    async def test_per_team_member_and_key_for_members_only(
        self, http: httpx.AsyncClient, fake_upstream: FakeUpstream
    ) -> None:
        team, owner, member, outsider = await team_with_people(http)
        admin = await admin_headers(http)
        await http.put(
            f"/api/teams/{team['id']}/members/{member.id}",
            json={"role": "owner"},
            headers=admin,
        )
        for person, secret in ((owner, "sk-stats-owner"), (member, "sk-stats-member")):
            await add_key(http, person, fake_upstream, secret)
            fake_upstream.script(secret, default=Reply(usage=USAGE))
        owner_key = (await _team_key(http, owner, team["id"])).json()
        member_key = (await _team_key(http, member, team["id"])).json()
        personal = await http.post(
            "/api/gateway-keys/", json={"name": "mine"}, headers=owner.headers
        )
        calls = [
            (personal.json()["key"], 1),  # not the team's (logged first)
            (owner_key["key"], 2),
            (member_key["key"], 1),
        ]
        for secret, times in calls:
            for _ in range(times):
                ok = await http.post(
                    "/v1/chat/completions", json=_chat(), headers=_bearer(secret)
                )
                assert ok.status_code == 200, ok.text
        await _team_spend(http, owner, team["id"], 3 * CALL_COST)
        path = f"/api/statistics/usage?team_id={team['id']}"
        stats = await http.get(path, headers=member.headers)
        assert stats.status_code == 200, stats.text
        body = stats.json()
        assert body["team_id"] == team["id"]
        assert body["total_requests"] == 3
        assert body["total_cost"] == pytest.approx(3 * CALL_COST)
        assert [(m["user_id"], m["requests"]) for m in body["member_usage"]] == [
            (owner.id, 2),
            (member.id, 1),
        ]
        assert [(k["key_id"], k["requests"]) for k in body["key_usage"]] == [
            (owner_key["id"], 2),
            (member_key["id"], 1),
        ]
        assert (await http.get(path, headers=admin)).status_code == 200
        refused = await http.get(path, headers=outsider.headers)
        assert refused.status_code == 404
        assert refused.json()["error_type"] == "not_found"
        # Without team_id: the caller's own calls, and no team fields.
        mine = (await http.get("/api/statistics/usage", headers=owner.headers)).json()
        assert mine["total_requests"] == 3  # 2 team calls + 1 personal
        assert "member_usage" not in mine
        assert "team_id" not in mine
