"""The process's aiohttp session for the adapter tests (the fake upstream comes
from tests.fakes.plugin), and the Gemini and Bedrock stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from aihub.providers.http import close_http_session, create_http_session
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.gemini import FakeGemini

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


@pytest.fixture(scope="session")
def fake_gemini_server() -> Iterator[FakeGemini]:
    server = FakeGemini()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_gemini(fake_gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    """The Gemini stand-in, unscripted; reset after the test."""
    fake_gemini_server.reset()
    yield fake_gemini_server
    fake_gemini_server.reset()


@pytest.fixture(scope="session")
def fake_bedrock_server() -> Iterator[FakeBedrock]:
    server = FakeBedrock()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_bedrock(fake_bedrock_server: FakeBedrock) -> Iterator[FakeBedrock]:
    """The Bedrock stand-in with no registered credentials; reset after the test."""
    fake_bedrock_server.reset()
    yield fake_bedrock_server
    fake_bedrock_server.reset()
