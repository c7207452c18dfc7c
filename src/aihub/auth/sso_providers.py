"""The sign-in providers configured by environment (see the README's "Single
sign-on and sessions"): any number of OpenID Connect providers, plus GitHub and
Discord (OAuth 2.0 with their user APIs). Their URLs come from the
administrator, so calls to them are trusted like global provider keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aihub.core.settings import Settings

Kind = Literal["oidc", "github", "discord"]

GITHUB_BASE = "https://github.com"
GITHUB_API = "https://api.github.com"
DISCORD_BASE = "https://discord.com"


@dataclass(frozen=True, slots=True)
class SsoProvider:
    name: str
    label: str
    kind: Kind
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str | None = None
    issuer: str | None = None  # OIDC: discovery at <issuer>/.well-known/...
    authorize_url: str | None = None  # OAuth 2.0 (GitHub, Discord)
    token_url: str | None = None
    api_url: str | None = None
    reads_github_groups: bool = False  # organizations and teams as groups


def _github(settings: Settings) -> SsoProvider | None:
    if not (settings.oauth_github_client_id and settings.oauth_github_client_secret):
        return None
    base = (settings.oauth_github_base_url or GITHUB_BASE).rstrip("/")
    # GitHub Enterprise Server (and stand-ins) serve the API at <base>/api/v3.
    api = GITHUB_API if settings.oauth_github_base_url is None else f"{base}/api/v3"
    return SsoProvider(
        name="github",
        label="GitHub",
        kind="github",
        client_id=settings.oauth_github_client_id,
        client_secret=settings.oauth_github_client_secret.get_secret_value(),
        scopes="read:user user:email"
        + (" read:org" if settings.oauth_github_groups else ""),
        authorize_url=f"{base}/login/oauth/authorize",
        token_url=f"{base}/login/oauth/access_token",
        api_url=api,
        reads_github_groups=settings.oauth_github_groups,
    )


def _discord(settings: Settings) -> SsoProvider | None:
    if not (settings.oauth_discord_client_id and settings.oauth_discord_client_secret):
        return None
    base = (settings.oauth_discord_base_url or DISCORD_BASE).rstrip("/")
    return SsoProvider(
        name="discord",
        label="Discord",
        kind="discord",
        client_id=settings.oauth_discord_client_id,
        client_secret=settings.oauth_discord_client_secret.get_secret_value(),
        scopes="identify email",
        authorize_url=f"{base}/oauth2/authorize",
        token_url=f"{base}/api/oauth2/token",
        api_url=f"{base}/api",
    )


def configured_providers(settings: Settings) -> list[SsoProvider]:
    """Every configured provider: OIDC ones by name, then GitHub, Discord."""
    providers = [
        SsoProvider(
            name=name,
            label=config.label or name.capitalize(),
            kind="oidc",
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            scopes=config.scopes,
            groups_claim=config.groups_claim,
            issuer=config.issuer.rstrip("/"),
        )
        for name, config in sorted(settings.oidc_providers.items())
    ]
    for extra in (_github(settings), _discord(settings)):
        if extra is not None:
            providers.append(extra)
    return providers


def find_provider(settings: Settings, name: str) -> SsoProvider | None:
    return next((p for p in configured_providers(settings) if p.name == name), None)
