"""Invitations: one-time tokens with an expiry, for one email address."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from aihub.core.db import utcnow
from aihub.runtime import runtime_of
from aihub.teams.models import TeamInvitation
from tests.factories import admin_headers, make_user
from tests.teams.support import team_with_people

pytestmark = pytest.mark.shared_app


def _error(response: httpx.Response, status: int, error_type: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["error"], body["error_type"]) == (True, error_type)
    assert body["error_message"]


async def _invite(
    client: httpx.AsyncClient, team_id: int, headers: dict[str, str], **body: object
) -> httpx.Response:
    return await client.post(
        f"/api/teams/{team_id}/invitations", json=body, headers=headers
    )


class TestInvite:
    async def test_owner_invites_and_the_invitee_joins_once(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        team, owner, _, _ = await team_with_people(client)
        invitee = await make_user(client)
        response = await _invite(
            client, team["id"], owner.headers, email=invitee.email.upper()
        )
        assert response.status_code == 201, response.text
        body = response.json()
        token = body["token"]
        assert body["link"].endswith(token)
        assert body["email"] == invitee.email.lower()
        assert (body["role"], body["accepted_at"]) == ("member", None)
        # Stored hashed: the token itself is nowhere in the table.
        async with runtime_of(app).sessionmaker() as session:
            row = await session.scalar(
                select(TeamInvitation).where(TeamInvitation.id == body["id"])
            )
        assert row is not None
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        accepted = await client.post(
            f"/api/invitations/{token}/accept", headers=invitee.headers
        )
        assert accepted.status_code == 200, accepted.text
        assert (accepted.json()["user_id"], accepted.json()["role"]) == (
            invitee.id,
            "member",
        )
        mine = await client.get("/api/teams/", headers=invitee.headers)
        assert [t["id"] for t in mine.json()] == [team["id"]]
        again = await client.post(
            f"/api/invitations/{token}/accept", headers=invitee.headers
        )
        _error(again, 409, "conflict")

    async def test_an_owner_invitation_makes_an_owner(
        self, client: httpx.AsyncClient
    ) -> None:
        team, _, _, _ = await team_with_people(client)
        invitee = await make_user(client)
        admin = await admin_headers(client)
        token = (
            await _invite(client, team["id"], admin, email=invitee.email, role="owner")
        ).json()["token"]
        accepted = await client.post(
            f"/api/invitations/{token}/accept", headers=invitee.headers
        )
        assert accepted.json()["role"] == "owner"

    async def test_a_member_may_not_invite(self, client: httpx.AsyncClient) -> None:
        team, _, member, outsider = await team_with_people(client)
        response = await _invite(client, team["id"], member.headers, email="x@y.org")
        _error(response, 403, "forbidden")
        response = await _invite(client, team["id"], outsider.headers, email="x@y.org")
        _error(response, 404, "not_found")

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "not-an-email"},
            {"email": "a@example.com", "role": "admin"},
            {"email": "a@example.com", "expires_in_hours": 0},
            {},
        ],
    )
    async def test_bad_bodies_are_422(
        self, client: httpx.AsyncClient, body: dict[str, object]
    ) -> None:
        team, owner, _, _ = await team_with_people(client)
        _error(
            await _invite(client, team["id"], owner.headers, **body),
            422,
            "validation_error",
        )


class TestAccept:
    async def test_another_email_is_refused(self, client: httpx.AsyncClient) -> None:
        team, owner, _, outsider = await team_with_people(client)
        token = (
            await _invite(client, team["id"], owner.headers, email="someone@else.org")
        ).json()["token"]
        response = await client.post(
            f"/api/invitations/{token}/accept", headers=outsider.headers
        )
        _error(response, 403, "forbidden")
        teams = await client.get("/api/teams/", headers=outsider.headers)
        assert teams.json() == []

    async def test_an_expired_invitation_is_410(
        self, client: httpx.AsyncClient, app: FastAPI
    ) -> None:
        team, owner, _, outsider = await team_with_people(client)
        body = (
            await _invite(client, team["id"], owner.headers, email=outsider.email)
        ).json()
        async with runtime_of(app).sessionmaker() as session:
            await session.execute(
                update(TeamInvitation)
                .where(TeamInvitation.id == body["id"])
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
            await session.commit()
        response = await client.post(
            f"/api/invitations/{body['token']}/accept", headers=outsider.headers
        )
        _error(response, 410, "invitation_expired")

    async def test_an_unknown_token_is_404_and_anonymous_401(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await make_user(client)
        unknown = await client.post(
            "/api/invitations/no-such-token/accept", headers=user.headers
        )
        _error(unknown, 404, "not_found")
        anonymous = await client.post("/api/invitations/no-such-token/accept")
        _error(anonymous, 401, "unauthorized")
