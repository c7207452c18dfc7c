"""Users and tokens made the way a person would: through the API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

_counter = itertools.count(1)


@dataclass
class Account:
    id: int
    email: str
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def login(client: httpx.AsyncClient, login: str, password: str) -> str:
    response = await client.post(
        "/api/auth/token", data={"username": login, "password": password}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def make_user(client: httpx.AsyncClient, **overrides: Any) -> Account:
    n = next(_counter)
    body = {
        "email": f"user{n}@example.com",
        "username": f"user{n}",
        "password": "correct-horse-battery",
        **overrides,
    }
    response = await client.post("/api/users/", json=body)
    assert response.status_code == 201, response.text
    user = response.json()
    token = await login(client, body["email"], body["password"])
    return Account(user["id"], body["email"], body["username"], body["password"], token)


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    token = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    return {"Authorization": f"Bearer {token}"}
