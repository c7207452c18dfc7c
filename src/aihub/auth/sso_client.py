"""The wire side of single sign-on: OpenID Connect discovery, the authorization
request (code flow with PKCE, state and nonce, built with Authlib), the code
exchange, ID token verification (joserfc: signature by the provider's JWKS,
issuer, audience, nonce, expiry) and GitHub's and Discord's user APIs
(GitHub's organizations and teams too, as groups, when configured).

Outbound calls use the process's unguarded HTTP session: every URL here comes
from the administrator's configuration or from the configured issuer's own
discovery document, never from a user (like global provider keys' base URLs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import structlog
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from aihub.auth.errors import SsoFailedError, SsoProviderUnavailableError
from aihub.auth.sso_providers import SsoProvider

log = structlog.get_logger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=15)
METADATA_TTL_S = 600.0
CLOCK_LEEWAY_S = 60
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
_JSON = {"Accept": "application/json"}
PAGE = "per_page=100"
"""GitHub's organizations and teams: the first 100 of each (one page)."""


@dataclass(frozen=True, slots=True)
class SsoProfile:
    """Who the provider says signed in."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    username: str | None
    groups: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass
class _Cached:
    value: dict[str, Any]
    at: float


class SsoClient:
    """One per process (the runtime's ``sso``): caches discovery documents
    and JWKS."""

    def __init__(self, http: aiohttp.ClientSession) -> None:
        self._http = http
        self._metadata: dict[str, _Cached] = {}
        self._jwks: dict[str, _Cached] = {}

    async def _get_json(
        self, url: str, *, headers: dict[str, str] | None = None
    ) -> Any:
        try:
            async with self._http.get(
                url, headers={**_JSON, **(headers or {})}, timeout=TIMEOUT
            ) as response:
                if response.status != 200:
                    log.warning("sso_http_failed", url=url, status=response.status)
                    raise SsoFailedError("The sign-in provider refused the request")
                return await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("sso_http_failed", url=url, error=type(exc).__name__)
            raise SsoProviderUnavailableError() from exc

    async def metadata(self, provider: SsoProvider) -> dict[str, Any]:
        """The issuer's discovery document (cached); its issuer must match."""
        issuer = provider.issuer or ""
        cached = self._metadata.get(issuer)
        if cached and time.monotonic() - cached.at < METADATA_TTL_S:
            return cached.value
        document = await self._get_json(f"{issuer}/.well-known/openid-configuration")
        if not isinstance(document, dict) or document.get("issuer") != issuer:
            raise SsoFailedError(
                "The provider's discovery document names another issuer"
            )
        for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(needed), str):
                raise SsoFailedError(
                    f"The provider's discovery document lacks {needed}"
                )
        self._metadata[issuer] = _Cached(document, time.monotonic())
        return document

    async def _key_set(self, jwks_uri: str, *, fresh: bool) -> KeySet:
        cached = self._jwks.get(jwks_uri)
        if fresh or cached is None or time.monotonic() - cached.at >= METADATA_TTL_S:
            document = await self._get_json(jwks_uri)
            if not isinstance(document, dict):
                raise SsoFailedError("The provider's JWKS is not a key set")
            cached = _Cached(document, time.monotonic())
            self._jwks[jwks_uri] = cached
        try:
            return KeySet.import_key_set(cached.value)  # type: ignore[arg-type]  # a JWKS dict
        except (JoseError, ValueError, TypeError) as exc:
            raise SsoFailedError("The provider's JWKS cannot be read") from exc

    async def authorization_request(
        self, provider: SsoProvider, *, redirect_uri: str
    ) -> AuthorizationRequest:
        """The provider's authorization URL with a fresh state, nonce and PKCE
        (S256) challenge; the caller keeps the state, nonce and verifier."""
        state, nonce, verifier = (
            generate_token(32),
            generate_token(32),
            generate_token(64),
        )
        if provider.kind == "oidc":
            endpoint = (await self.metadata(provider))["authorization_endpoint"]
        else:
            endpoint = provider.authorize_url or ""
        extra: dict[str, str] = {
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        if provider.kind == "oidc":
            extra["nonce"] = nonce
        url = prepare_grant_uri(
            endpoint,
            client_id=provider.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=provider.scopes,
            state=state,
            **extra,
        )
        return AuthorizationRequest(str(url), state, nonce, verifier)

    async def _exchange(
        self,
        provider: SsoProvider,
        token_url: str,
        *,
        code: str,
        verifier: str,
        redirect_uri: str,
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
        }
        try:
            async with self._http.post(
                token_url, data=form, headers=_JSON, timeout=TIMEOUT
            ) as response:
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning(
                "sso_token_failed", provider=provider.name, error=type(exc).__name__
            )
            raise SsoProviderUnavailableError() from exc
        if response.status != 200 or not isinstance(body, dict) or "error" in body:
            error = body.get("error") if isinstance(body, dict) else None
            log.info("sso_code_refused", provider=provider.name, error=error)
            raise SsoFailedError("The sign-in provider refused the code")
        if not isinstance(body.get("access_token"), str):
            raise SsoFailedError("The sign-in provider answered no access token")
        return body

    async def verify_id_token(
        self, provider: SsoProvider, id_token: str, *, nonce: str
    ) -> dict[str, Any]:
        """The ID token's claims once its signature (the issuer's JWKS, fetched
        again once for an unknown key), issuer, audience, nonce and expiry hold."""
        metadata = await self.metadata(provider)
        token = None
        for fresh in (False, True):
            keys = await self._key_set(metadata["jwks_uri"], fresh=fresh)
            try:
                token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
                break
            except (JoseError, ValueError) as exc:
                if fresh:
                    log.info(
                        "sso_id_token_bad_signature",
                        provider=provider.name,
                        error=type(exc).__name__,
                    )
                    raise SsoFailedError(
                        "The ID token's signature is not valid"
                    ) from exc
        assert token is not None  # noqa: S101  the loop breaks or raises
        claims: dict[str, Any] = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_S,
            iss={"essential": True, "value": provider.issuer or ""},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            log.info("sso_id_token_refused", provider=provider.name, error=str(exc))
            raise SsoFailedError(
                f"The ID token is not valid: {exc.description or exc.error}"
            ) from exc
        audience = claims.get("aud")
        several = isinstance(audience, list) and len(audience) > 1
        if several and claims.get("azp") != provider.client_id:
            raise SsoFailedError("The ID token is not valid: azp is not this client")
        return claims

    async def oidc_profile(
        self,
        provider: SsoProvider,
        *,
        code: str,
        verifier: str,
        nonce: str,
        redirect_uri: str,
    ) -> SsoProfile:
        metadata = await self.metadata(provider)
        tokens = await self._exchange(
            provider,
            metadata["token_endpoint"],
            code=code,
            verifier=verifier,
            redirect_uri=redirect_uri,
        )
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SsoFailedError("The sign-in provider answered no ID token")
        claims = await self.verify_id_token(provider, id_token, nonce=nonce)
        userinfo_url = metadata.get("userinfo_endpoint")
        if isinstance(userinfo_url, str):
            info = await self._get_json(
                userinfo_url,
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            # Userinfo about someone else is ignored (OIDC Core 5.3.2).
            if isinstance(info, dict) and info.get("sub") == claims["sub"]:
                claims = {**info, **claims}
        return _oidc_profile(provider, claims)

    async def oauth_profile(
        self, provider: SsoProvider, *, code: str, verifier: str, redirect_uri: str
    ) -> SsoProfile:
        tokens = await self._exchange(
            provider,
            provider.token_url or "",
            code=code,
            verifier=verifier,
            redirect_uri=redirect_uri,
        )
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        api = provider.api_url or ""
        if provider.kind == "github":
            user = await self._get_json(f"{api}/user", headers=auth)
            emails = await self._get_json(f"{api}/user/emails", headers=auth)
            profile = _github_profile(provider, user, emails)
            if provider.reads_github_groups:
                orgs = await self._get_json(f"{api}/user/orgs?{PAGE}", headers=auth)
                teams = await self._get_json(f"{api}/user/teams?{PAGE}", headers=auth)
                profile = replace(profile, groups=_github_groups(orgs, teams))
            return profile
        user = await self._get_json(f"{api}/users/@me", headers=auth)
        return _discord_profile(provider, user)


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _groups(claims: dict[str, Any], claim: str | None) -> list[str]:
    if not claim:
        return []
    value: Any = claims
    for part in claim.split("."):  # "realm_access.roles" reaches into objects
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value if isinstance(item, str | int)]
    return []


def _oidc_profile(provider: SsoProvider, claims: dict[str, Any]) -> SsoProfile:
    return SsoProfile(
        provider=provider.name,
        subject=str(claims["sub"]),
        email=_text(claims.get("email")),
        email_verified=_is_true(claims.get("email_verified")),
        name=_text(claims.get("name")),
        username=_text(claims.get("preferred_username")),
        groups=_groups(claims, provider.groups_claim),
    )


def _github_profile(provider: SsoProvider, user: Any, emails: Any) -> SsoProfile:
    if not isinstance(user, dict) or user.get("id") is None:
        raise SsoFailedError("GitHub answered no user")
    verified = [
        item
        for item in (emails if isinstance(emails, list) else [])
        if isinstance(item, dict)
        and item.get("verified") is True
        and _text(item.get("email"))
    ]
    verified.sort(key=lambda item: item.get("primary") is not True)
    email = verified[0]["email"] if verified else _text(user.get("email"))
    return SsoProfile(
        provider=provider.name,
        subject=str(user["id"]),
        email=email,
        email_verified=bool(verified),
        name=_text(user.get("name")),
        username=_text(user.get("login")),
    )


def _github_groups(orgs: Any, teams: Any) -> list[str]:
    """``org`` per organization and ``org/team-slug`` per team, lower-case
    (GitHub's names are case-insensitive)."""
    groups = [
        org["login"].lower()
        for org in (orgs if isinstance(orgs, list) else [])
        if isinstance(org, dict) and _text(org.get("login"))
    ]
    for team in teams if isinstance(teams, list) else []:
        if not isinstance(team, dict) or not isinstance(team.get("organization"), dict):
            continue
        org, slug = _text(team["organization"].get("login")), _text(team.get("slug"))
        if org and slug:
            groups.append(f"{org}/{slug}".lower())
    return list(dict.fromkeys(groups))


def _discord_profile(provider: SsoProvider, user: Any) -> SsoProfile:
    if not isinstance(user, dict) or user.get("id") is None:
        raise SsoFailedError("Discord answered no user")
    return SsoProfile(
        provider=provider.name,
        subject=str(user["id"]),
        email=_text(user.get("email")),
        email_verified=user.get("verified") is True,
        name=_text(user.get("global_name")),
        username=_text(user.get("username")),
    )
