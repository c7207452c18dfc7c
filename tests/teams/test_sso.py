"""Which of a team's SSO group entries a person's groups match (the sign-ins
themselves: tests/auth/test_sso_teams.py)."""

from __future__ import annotations

import pytest

from aihub.teams.sso import matching

PROVIDERS = {"keycloak", "github", "discord"}


@pytest.mark.parametrize(
    ("entry", "groups", "matches"),
    [
        ("engineering", {"keycloak": ["engineering"]}, True),
        ("engineering", {"github": ["engineering"]}, True),
        ("engineering", {"keycloak": ["Engineering"]}, False),  # exact names
        ("engineering", {"keycloak": ["/engineering"]}, False),  # Keycloak paths
        ("keycloak:engineering", {"keycloak": ["engineering"]}, True),
        ("keycloak:engineering", {"github": ["engineering"]}, False),
        ("keycloak:engineering", {"github": ["keycloak:engineering"]}, False),
        ("github:octo-org/ml", {"github": ["octo-org", "octo-org/ml"]}, True),
        ("keycloak:/team:a", {"keycloak": ["/team:a"]}, True),
        # not a provider's name before the colon: one group's whole name
        ("urn:corp:eng", {"keycloak": ["urn:corp:eng"]}, True),
        ("okta:eng", {"keycloak": ["eng"]}, False),
        ("engineering", {}, False),
    ],
)
def test_an_entry_matches(
    entry: str, groups: dict[str, list[str]], matches: bool
) -> None:
    expected = [entry] if matches else []
    assert matching([entry], groups, providers=PROVIDERS) == expected


def test_every_matching_entry_is_named_in_order() -> None:
    groups = {"keycloak": ["a", "b"], "github": ["org"]}
    entries = ["b", "github:org", "keycloak:org", "a"]
    assert matching(entries, groups, providers=PROVIDERS) == ["b", "github:org", "a"]
