"""The stand-in identity provider for the single sign-on tests (started only
in the modules that ask for it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.auth.sso_flow import ALICE
from tests.auth.sso_standin import IdentityProvider
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def standin() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    server = LiveServer(provider.app())
    server.start()
    provider.base_url = server.url
    yield provider
    server.stop()


@pytest.fixture
def idp(standin: IdentityProvider) -> IdentityProvider:
    """The stand-in, reset to sign Alice in honestly."""
    standin.person = dict(ALICE)
    standin.id_token_overrides = {}
    standin.signing_key = None
    standin.github_user = {
        "id": 4242,
        "login": "octo-cat",
        "name": "Octo",
        "email": None,
    }
    standin.github_emails = [
        {"email": "octo@users.example", "primary": False, "verified": True},
        {"email": "octo@corp.example", "primary": True, "verified": True},
    ]
    standin.github_orgs = []
    standin.github_teams = []
    standin.discord_user = {
        "id": "80351110224678912",
        "username": "nelly",
        "global_name": "Nelly",
        "email": "nelly@corp.example",
        "verified": True,
    }
    return standin


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """What the browser does at the provider (it follows no redirects)."""
    async with httpx.AsyncClient() as client:
        yield client
