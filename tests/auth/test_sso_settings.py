"""Providers from the environment: AIHUB_OIDC_<NAME>_* and AIHUB_OAUTH_*."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from aihub.auth.sso_providers import configured_providers
from aihub.core.settings import Settings


def test_several_oidc_providers_and_github_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, issuer in (
        ("KEYCLOAK", "https://sso.example/realms/corp/"),
        ("OKTA2", "https://okta.example"),
    ):
        monkeypatch.setenv(f"AIHUB_OIDC_{name}_ISSUER", issuer)
        monkeypatch.setenv(f"AIHUB_OIDC_{name}_CLIENT_ID", f"id-{name}")
        monkeypatch.setenv(f"AIHUB_OIDC_{name}_CLIENT_SECRET", f"secret-{name}")
    monkeypatch.setenv("AIHUB_OIDC_KEYCLOAK_LABEL", "Corp account")
    monkeypatch.setenv("AIHUB_OIDC_KEYCLOAK_GROUPS_CLAIM", "realm_access.roles")
    monkeypatch.setenv("AIHUB_OAUTH_GITHUB_CLIENT_ID", "gh")
    monkeypatch.setenv("AIHUB_OAUTH_GITHUB_CLIENT_SECRET", "gh-secret")
    monkeypatch.setenv("AIHUB_SIGNUP_EMAIL_DOMAINS", "Corp.Example, @sub.corp.example")
    monkeypatch.setenv("AIHUB_PASSWORD_LOGIN", "false")
    settings = Settings()
    providers = {p.name: p for p in configured_providers(settings)}
    assert list(providers) == ["keycloak", "okta2", "github"]
    keycloak = providers["keycloak"]
    assert keycloak.issuer == "https://sso.example/realms/corp"
    assert (keycloak.label, keycloak.kind) == ("Corp account", "oidc")
    assert keycloak.groups_claim == "realm_access.roles"
    assert keycloak.client_secret == "secret-KEYCLOAK"
    assert providers["okta2"].label == "Okta2"
    assert (
        providers["github"].authorize_url == "https://github.com/login/oauth/authorize"
    )
    assert providers["github"].api_url == "https://api.github.com"
    assert settings.signup_email_domains == ["corp.example", "sub.corp.example"]
    assert settings.password_login is False
    assert "secret-KEYCLOAK" not in repr(settings)


def test_a_provider_without_its_client_secret_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIHUB_OIDC_CORP_ISSUER", "https://sso.example")
    monkeypatch.setenv("AIHUB_OIDC_CORP_CLIENT_ID", "id")
    with pytest.raises(ValidationError, match="client_secret"):
        Settings()
