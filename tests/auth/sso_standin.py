"""A stand-in identity provider on 127.0.0.1 speaking the real protocols:

- OpenID Connect (``/oidc``): discovery document, JWKS, authorization endpoint
  (code flow, PKCE S256 checked at the token endpoint), token endpoint (client
  secret by Basic auth or form, each code good once), userinfo; ID tokens
  signed RS256 with joserfc.
- GitHub's OAuth 2.0 (``/gh``, laid out like GitHub Enterprise Server):
  ``/login/oauth/authorize``, ``/login/oauth/access_token``, ``/api/v3/user``,
  ``/api/v3/user/emails``, and ``/api/v3/user/orgs`` and ``/api/v3/user/teams``,
  which answer 403 unless the token was granted scope ``read:org``.
- Discord's OAuth 2.0 (``/dc``): ``/oauth2/authorize``, ``/api/oauth2/token``,
  ``/api/users/@me``.

The authorization endpoint signs in ``person`` at once (no login page) and
redirects back, as a provider does for a user with a live session there.
Tests change ``person`` and ``id_token_overrides`` to script the answer.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "aihub-test-client"
CLIENT_SECRET = "aihub-test-secret"
GITHUB_CLIENT_ID = "gh-client"
GITHUB_CLIENT_SECRET = "gh-secret"
DISCORD_CLIENT_ID = "dc-client"
DISCORD_CLIENT_SECRET = "dc-secret"


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str | None
    nonce: str | None
    person: dict[str, Any]
    scope: str = ""


@dataclass
class IdentityProvider:
    base_url: str = ""
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"})
    )
    person: dict[str, Any] = field(default_factory=dict)
    github_user: dict[str, Any] = field(default_factory=dict)
    github_emails: list[dict[str, Any]] = field(default_factory=list)
    github_orgs: list[dict[str, Any]] = field(default_factory=list)
    github_teams: list[dict[str, Any]] = field(default_factory=list)
    discord_user: dict[str, Any] = field(default_factory=dict)
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    signing_key: RSAKey | None = None  # another key: a forged signature
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/oidc"

    # --- OpenID Connect -------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    def _authorize(self, request: Request, client_id: str) -> Response:
        query = request.query_params
        if query.get("client_id") != client_id or query.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if query.get("code_challenge_method", "S256") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = Grant(
            client_id=client_id,
            redirect_uri=query["redirect_uri"],
            challenge=query.get("code_challenge"),
            nonce=query.get("nonce"),
            person=dict(self.person),
            scope=query.get("scope", ""),
        )
        back = urlencode({"code": code, "state": query.get("state", "")})
        return RedirectResponse(f"{query['redirect_uri']}?{back}", status_code=302)

    async def authorize(self, request: Request) -> Response:
        return self._authorize(request, CLIENT_ID)

    async def _redeem(
        self, request: Request, client_id: str, client_secret: str
    ) -> Grant | Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        sent_id, sent_secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.startswith("Basic "):
            sent_id, _, sent_secret = (
                base64.b64decode(basic[6:]).decode().partition(":")
            )
        if (sent_id, sent_secret) != (client_id, client_secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if grant.challenge is not None:
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if expected != grant.challenge:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return grant

    async def token(self, request: Request) -> Response:
        grant = await self._redeem(request, CLIENT_ID, CLIENT_SECRET)
        if isinstance(grant, Response):
            return grant
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **grant.person,
            **self.id_token_overrides,
        }
        key = self.signing_key or self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        access = secrets.token_urlsafe(16)
        self.access_tokens[access] = grant.person
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )

    def _bearer_person(self, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("authorization", "")
        return self.access_tokens.get(header.removeprefix("Bearer ").strip())

    async def userinfo(self, request: Request) -> Response:
        person = self._bearer_person(request)
        if person is None:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse(person)

    # --- GitHub's OAuth 2.0 ---------------------------------------------

    async def github_authorize(self, request: Request) -> Response:
        return self._authorize(request, GITHUB_CLIENT_ID)

    async def github_token(self, request: Request) -> Response:
        grant = await self._redeem(request, GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)
        if isinstance(grant, Response):
            # GitHub answers errors with 200 and an error field.
            return JSONResponse({"error": "bad_verification_code"})
        access = "gho_" + secrets.token_urlsafe(16)
        self.access_tokens[access] = {"scope": grant.scope.split()}
        if "application/json" in request.headers.get("accept", ""):
            scope = ",".join(grant.scope.split())  # GitHub lists it with commas
            return JSONResponse(
                {"access_token": access, "token_type": "bearer", "scope": scope}
            )
        body = urlencode({"access_token": access, "token_type": "bearer"})
        return Response(body, media_type="application/x-www-form-urlencoded")

    async def serve_github_user(self, request: Request) -> Response:
        if self._bearer_person(request) is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(self.github_user)

    async def serve_github_emails(self, request: Request) -> Response:
        if self._bearer_person(request) is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(self.github_emails)

    def _github_org_answer(self, request: Request, items: list[Any]) -> Response:
        grant = self._bearer_person(request)
        if grant is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        if "read:org" not in grant.get("scope", ()):
            return JSONResponse(
                {"message": "Resource not accessible by integration"}, status_code=403
            )
        per_page = int(request.query_params.get("per_page", "30"))
        return JSONResponse(items[:per_page])

    async def serve_github_orgs(self, request: Request) -> Response:
        return self._github_org_answer(request, self.github_orgs)

    async def serve_github_teams(self, request: Request) -> Response:
        return self._github_org_answer(request, self.github_teams)

    # --- Discord's OAuth 2.0 --------------------------------------------

    async def discord_authorize(self, request: Request) -> Response:
        return self._authorize(request, DISCORD_CLIENT_ID)

    async def discord_token(self, request: Request) -> Response:
        grant = await self._redeem(request, DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET)
        if isinstance(grant, Response):
            return grant
        access = secrets.token_urlsafe(16)
        self.access_tokens[access] = {}
        return JSONResponse(
            {"access_token": access, "token_type": "Bearer", "scope": "identify email"}
        )

    async def serve_discord_user(self, request: Request) -> Response:
        if self._bearer_person(request) is None:
            return JSONResponse({"message": "401: Unauthorized"}, status_code=401)
        return JSONResponse(self.discord_user)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oidc/.well-known/openid-configuration", self.discovery),
                Route("/oidc/jwks", self.jwks),
                Route("/oidc/authorize", self.authorize),
                Route("/oidc/token", self.token, methods=["POST"]),
                Route("/oidc/userinfo", self.userinfo),
                Route("/gh/login/oauth/authorize", self.github_authorize),
                Route(
                    "/gh/login/oauth/access_token", self.github_token, methods=["POST"]
                ),
                Route("/gh/api/v3/user", self.serve_github_user),
                Route("/gh/api/v3/user/emails", self.serve_github_emails),
                Route("/gh/api/v3/user/orgs", self.serve_github_orgs),
                Route("/gh/api/v3/user/teams", self.serve_github_teams),
                Route("/dc/oauth2/authorize", self.discord_authorize),
                Route("/dc/api/oauth2/token", self.discord_token, methods=["POST"]),
                Route("/dc/api/users/@me", self.serve_discord_user),
            ]
        )
