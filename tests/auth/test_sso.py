"""Single sign-on through a stand-in OpenID Connect provider and a stand-in of
GitHub's OAuth 2.0, on 127.0.0.1, the whole flow over HTTP without a browser:
login (302) -> the provider's authorization endpoint -> callback -> session."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey
from pydantic import SecretStr

from aihub.core.settings import OidcProviderSettings, Settings
from aihub.runtime import runtime_of
from tests.auth.sso_flow import (
    ALICE,
    audit_entries,
    back_from_provider,
    session_user,
    sign_in,
    sso_settings,
    to_provider,
)
from tests.auth.sso_standin import CLIENT_ID, CLIENT_SECRET, IdentityProvider
from tests.factories import make_user


@pytest.fixture
def settings(settings: Settings, idp: IdentityProvider) -> Settings:
    return sso_settings(settings, idp)


def _assert_refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] is True
    assert body["error_message"]
    assert "aihub_refresh" not in response.headers.get("set-cookie", "")


class TestProviders:
    async def test_lists_every_configured_provider_publicly(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/api/auth/providers")
        assert response.status_code == 200
        assert response.json() == [
            {"name": "corp", "label": "Corp SSO", "kind": "oidc"},
            {"name": "github", "label": "GitHub", "kind": "github"},
            {"name": "discord", "label": "Discord", "kind": "discord"},
        ]
        assert CLIENT_SECRET not in response.text

    async def test_unknown_provider_is_404(self, client: httpx.AsyncClient) -> None:
        for url in ("/api/auth/oauth/nope/login", "/api/auth/oauth/nope/callback"):
            response = await client.get(url)
            assert response.status_code == 404
            assert response.json()["error_type"] == "not_found"

    async def test_unreachable_provider_is_502(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        runtime_of(app).settings.oidc_providers["down"] = OidcProviderSettings(
            issuer="http://127.0.0.1:9/nobody-listens",
            client_id="x",
            client_secret=SecretStr("y"),
        )
        response = await client.get("/api/auth/oauth/down/login")
        assert response.status_code == 502
        assert response.json()["error_type"] == "api_error"
        assert "cannot be reached" in response.json()["error_message"]

    async def test_login_redirects_with_pkce_state_and_nonce(
        self, client: httpx.AsyncClient, idp: IdentityProvider
    ) -> None:
        start = await client.get("/api/auth/oauth/corp/login")
        assert start.status_code == 302
        url = urlsplit(start.headers["location"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"{idp.issuer}/authorize"
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert query["response_type"] == "code"
        assert query["client_id"] == CLIENT_ID
        assert query["redirect_uri"] == "http://aihub/api/auth/oauth/corp/callback"
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == 43
        assert len(query["state"]) >= 32
        assert len(query["nonce"]) >= 32
        assert set(query["scope"].split()) >= {"openid", "email"}
        cookie = start.headers["set-cookie"].lower()
        assert "aihub_sso=" in cookie
        assert "httponly" in cookie
        # The flow's secrets are not readable in the cookie.
        assert query["state"] not in start.headers["set-cookie"]


class TestOidcSignIn:
    async def test_first_sign_in_creates_the_account_and_a_session(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        done = await sign_in(client, browser)
        assert done.status_code == 302
        assert done.headers["location"] == "/login#sso=ok"
        assert "access_token" not in done.headers["location"]
        me = await session_user(client)
        assert me["email"] == "alice@corp.example"
        assert me["username"] == "alice"
        assert me["role"] == "user"
        # The token exchange sent the PKCE verifier.
        assert idp.token_requests[-1]["code_verifier"]

        again = await sign_in(client, browser)
        assert again.status_code == 302
        assert (await session_user(client))["id"] == me["id"]
        entries = await audit_entries(client, "auth.login.success")
        sso = [e for e in entries if e["detail"].get("provider") == "corp"]
        assert [e["detail"]["account"] for e in sso] == ["identity", "created"]
        created = await audit_entries(client, "user.create")
        assert created[0]["detail"]["method"] == "sso"

    async def test_links_an_existing_account_by_verified_email(
        self, client: httpx.AsyncClient, browser: httpx.AsyncClient
    ) -> None:
        existing = await make_user(
            client, email="alice@corp.example", username="alice-pw"
        )
        done = await sign_in(client, browser)
        assert done.status_code == 302
        assert (await session_user(client))["id"] == existing.id

    async def test_sso_session_is_listed_with_the_providers_name(
        self, client: httpx.AsyncClient, browser: httpx.AsyncClient
    ) -> None:
        await sign_in(client, browser)
        refreshed = await client.post("/api/auth/refresh")
        token = refreshed.json()["access_token"]
        sessions = await client.get(
            "/api/auth/sessions", headers={"Authorization": f"Bearer {token}"}
        )
        assert [(s["method"], s["current"]) for s in sessions.json()] == [
            ("corp", True)
        ]

    async def test_admin_group_gives_and_takes_the_admin_role(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        idp.person["groups"] = ["staff", "aihub-admins"]
        await sign_in(client, browser)
        assert (await session_user(client))["role"] == "admin"
        idp.person["groups"] = ["staff"]
        await sign_in(client, browser)
        assert (await session_user(client))["role"] == "user"


class TestOidcRefusals:
    async def test_wrong_state_is_400(
        self, client: httpx.AsyncClient, browser: httpx.AsyncClient
    ) -> None:
        callback = await back_from_provider(browser, await to_provider(client))
        path, _, query = callback.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        params["state"] = "forged-" + params["state"]
        response = await client.get(path, params=params)
        _assert_refused(response, 400)
        assert response.json()["error_type"] == "validation_error"

    async def test_callback_without_the_flow_cookie_is_400(
        self, client: httpx.AsyncClient, browser: httpx.AsyncClient
    ) -> None:
        callback = await back_from_provider(browser, await to_provider(client))
        client.cookies.clear()  # another browser (login CSRF)
        _assert_refused(await client.get(callback), 400)

    async def test_replayed_callback_is_refused(
        self, client: httpx.AsyncClient, browser: httpx.AsyncClient
    ) -> None:
        authorize = await to_provider(client)
        flow_cookie = {"Cookie": f"aihub_sso={client.cookies['aihub_sso']}"}
        callback = await back_from_provider(browser, authorize)
        assert (await client.get(callback)).status_code == 302
        client.cookies.clear()
        _assert_refused(await client.get(callback, headers=flow_cookie), 400)

    async def test_replayed_code_in_a_new_flow_is_refused_by_the_provider(
        self, client: httpx.AsyncClient, browser: httpx.AsyncClient
    ) -> None:
        callback = await back_from_provider(browser, await to_provider(client))
        assert (await client.get(callback)).status_code == 302
        old_code = parse_qs(urlsplit(callback).query)["code"][0]
        client.cookies.clear()
        fresh = await back_from_provider(browser, await to_provider(client))
        path, _, query = fresh.partition("?")
        state = parse_qs(query)["state"][0]
        response = await client.get(path, params={"code": old_code, "state": state})
        _assert_refused(response, 401)

    @pytest.mark.parametrize(
        ("overrides", "why"),
        [
            ({"nonce": "another-nonce"}, "nonce"),
            (
                {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
                "exp",
            ),
            ({"aud": "another-client"}, "aud"),
            ({"iss": "http://127.0.0.1:9/other"}, "iss"),
        ],
    )
    async def test_id_token_claims_that_do_not_hold_are_401(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
        overrides: dict[str, Any],
        why: str,
    ) -> None:
        idp.id_token_overrides = overrides
        response = await sign_in(client, browser)
        _assert_refused(response, 401)
        assert why in response.json()["error_message"]
        assert (await client.post("/api/auth/refresh")).status_code == 401

    async def test_wrong_signature_is_401(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        idp.signing_key = RSAKey.generate_key(2048, {"kid": "k1"})
        response = await sign_in(client, browser)
        _assert_refused(response, 401)
        assert "signature" in response.json()["error_message"]

    async def test_unverified_email_does_not_link_an_existing_account(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        victim = await make_user(client, email="alice@corp.example", username="victim")
        idp.person["email_verified"] = False
        response = await sign_in(client, browser)
        _assert_refused(response, 403)
        assert "verified" in response.json()["error_message"]
        # Not linked: a verified sign-in later creates nothing new and the
        # unverified subject still cannot get in.
        sessions = await client.get("/api/auth/sessions", headers=victim.headers)
        assert [s["method"] for s in sessions.json()] == ["password"]
        assert (await sign_in(client, browser)).status_code == 403
        failures = await audit_entries(client, "auth.login.failure")
        assert failures[0]["detail"]["provider"] == "corp"
        assert failures[0]["detail"]["subject"] == ALICE["sub"]

    async def test_domain_not_allowed_gets_no_account(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        runtime_of(app).settings.signup_email_domains = ["corp.example"]
        idp.person.update(sub="eve-1", email="eve@elsewhere.example")
        response = await sign_in(client, browser)
        _assert_refused(response, 403)
        assert "not open" in response.json()["error_message"]
        idp.person.update(ALICE)
        assert (await sign_in(client, browser)).status_code == 302
        assert (await session_user(client))["email"] == ALICE["email"]

    async def test_provider_error_is_401(self, client: httpx.AsyncClient) -> None:
        await to_provider(client)
        response = await client.get(
            "/api/auth/oauth/corp/callback", params={"error": "access_denied"}
        )
        _assert_refused(response, 401)


class TestGitHubSignIn:
    async def test_signs_in_with_the_primary_verified_email(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        authorize = await to_provider(client, "github")
        assert authorize.startswith(f"{idp.base_url}/gh/login/oauth/authorize?")
        callback = await back_from_provider(browser, authorize)
        done = await client.get(callback)
        assert done.status_code == 302, done.text
        me = await session_user(client)
        assert me["email"] == "octo@corp.example"
        assert me["username"] == "octo-cat"

    async def test_password_login_disabled_leaves_sso_working(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
    ) -> None:
        runtime_of(app).settings.password_login = False
        refused = await client.post(
            "/api/auth/login", json={"email": "x@corp.example", "password": "whatever"}
        )
        _assert_refused(refused, 403)
        assert (await sign_in(client, browser, "github")).status_code == 302
        assert (await session_user(client))["email"] == "octo@corp.example"

    async def test_no_verified_email_is_refused(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        idp.github_user["email"] = "octo@corp.example"  # public, but unverified
        idp.github_emails = [
            {"email": "octo@corp.example", "primary": True, "verified": False}
        ]
        _assert_refused(await sign_in(client, browser, "github"), 403)


class TestDiscordSignIn:
    async def test_signs_in_with_the_verified_email(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        authorize = await to_provider(client, "discord")
        assert authorize.startswith(f"{idp.base_url}/dc/oauth2/authorize?")
        done = await client.get(await back_from_provider(browser, authorize))
        assert done.status_code == 302, done.text
        me = await session_user(client)
        assert (me["email"], me["username"]) == ("nelly@corp.example", "nelly")

    async def test_unverified_email_is_refused(
        self,
        client: httpx.AsyncClient,
        browser: httpx.AsyncClient,
        idp: IdentityProvider,
    ) -> None:
        idp.discord_user["verified"] = False
        _assert_refused(await sign_in(client, browser, "discord"), 403)
