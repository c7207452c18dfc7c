"""The single sign-on flow as a browser drives it, for the SSO tests: aihub's
login redirect, the stand-in provider's answer, the callback, the session."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from aihub.core.settings import OidcProviderSettings, Settings
from tests.auth.sso_standin import (
    CLIENT_ID,
    CLIENT_SECRET,
    DISCORD_CLIENT_ID,
    DISCORD_CLIENT_SECRET,
    GITHUB_CLIENT_ID,
    GITHUB_CLIENT_SECRET,
    IdentityProvider,
)
from tests.factories import admin_headers

ALICE = {
    "sub": "alice-0001",
    "email": "alice@corp.example",
    "email_verified": True,
    "name": "Alice Liddell",
    "preferred_username": "alice",
    "groups": ["staff"],
}


def sso_settings(settings: Settings, idp: IdentityProvider) -> Settings:
    """The test settings with the stand-in as the OIDC provider ``corp`` (its
    groups claim ``groups``), GitHub and Discord."""
    return settings.model_copy(
        update={
            "oidc_providers": {
                "corp": OidcProviderSettings(
                    issuer=idp.issuer,
                    client_id=CLIENT_ID,
                    client_secret=SecretStr(CLIENT_SECRET),
                    groups_claim="groups",
                    label="Corp SSO",
                )
            },
            "oauth_github_client_id": GITHUB_CLIENT_ID,
            "oauth_github_client_secret": SecretStr(GITHUB_CLIENT_SECRET),
            "oauth_github_base_url": f"{idp.base_url}/gh",
            "oauth_discord_client_id": DISCORD_CLIENT_ID,
            "oauth_discord_client_secret": SecretStr(DISCORD_CLIENT_SECRET),
            "oauth_discord_base_url": f"{idp.base_url}/dc",
            "sso_admin_groups": ["aihub-admins"],
        }
    )


async def to_provider(client: httpx.AsyncClient, name: str = "corp") -> str:
    start = await client.get(f"/api/auth/oauth/{name}/login")
    assert start.status_code == 302, start.text
    return start.headers["location"]


async def back_from_provider(browser: httpx.AsyncClient, authorize: str) -> str:
    """The provider signs the person in and sends the browser back: the
    callback's path and query on aihub."""
    answer = await browser.get(authorize)
    assert answer.status_code == 302, answer.text
    parts = urlsplit(answer.headers["location"])
    assert parts.netloc == "aihub"
    return f"{parts.path}?{parts.query}"


async def sign_in(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, name: str = "corp"
) -> httpx.Response:
    client.cookies.clear()
    callback = await back_from_provider(browser, await to_provider(client, name))
    return await client.get(callback)


async def session_token(client: httpx.AsyncClient) -> str:
    """The web app's step after the callback: the refresh cookie gives an
    access token."""
    refreshed = await client.post("/api/auth/refresh")
    assert refreshed.status_code == 200, refreshed.text
    token: str = refreshed.json()["access_token"]
    return token


async def session_user(client: httpx.AsyncClient) -> dict[str, Any]:
    """The signed-in user, through /api/users/me with the session's token."""
    token = await session_token(client)
    me = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    user: dict[str, Any] = me.json()
    return user


async def audit_entries(client: httpx.AsyncClient, action: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/admin/audit",
        params={"action": action},
        headers=await admin_headers(client),
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries
