"""The process's aiohttp session for the adapter tests (the fake upstream comes
from tests.fakes.plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from aihub.providers.http import close_http_session, create_http_session

PLUGIN = "tests.fakes.plugin"


def pytest_configure(config: pytest.Config) -> None:
    # Until tests/conftest.py lists the plugin in pytest_plugins.
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    session = create_http_session()
    yield session
    await close_http_session(session)
