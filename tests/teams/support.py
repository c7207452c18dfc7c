"""Teams made the way an administrator makes them: through the API."""

from __future__ import annotations

import itertools
from typing import Any

import httpx

from tests.factories import Account, admin_headers, make_user

_names = itertools.count(1)


async def make_team(
    client: httpx.AsyncClient,
    *,
    owner: Account | None = None,
    members: tuple[Account, ...] = (),
    **fields: Any,
) -> dict[str, Any]:
    admin = await admin_headers(client)
    body = {"name": fields.pop("name", f"team {next(_names)}"), **fields}
    response = await client.post("/api/teams/", json=body, headers=admin)
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    for person, role in [(owner, "owner")] + [(m, "member") for m in members]:
        if person is None:
            continue
        added = await client.post(
            f"/api/teams/{team['id']}/members",
            json={"user_id": person.id, "role": role},
            headers=admin,
        )
        assert added.status_code == 201, added.text
    return team


async def team_with_people(
    client: httpx.AsyncClient, **fields: Any
) -> tuple[dict[str, Any], Account, Account, Account]:
    """A team, its owner, a member and an outsider."""
    owner, member, outsider = (
        await make_user(client),
        await make_user(client),
        await make_user(client),
    )
    team = await make_team(client, owner=owner, members=(member,), **fields)
    return team, owner, member, outsider
