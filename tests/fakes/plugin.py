"""pytest fixtures of the fake upstream; load with
``pytest_plugins = ["tests.fakes.plugin"]`` in tests/conftest.py.

- ``fake_upstream``: the server (started once per session, on first use),
  with no script and no recorded request at the start of the test;
- scripts and records are also cleared after every test that used it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.media_upstream import FakeMediaUpstream
from tests.fakes.upstream import FakeUpstream

_SERVER = pytest.StashKey[FakeUpstream]()


@pytest.fixture(scope="session")
def fake_upstream_server(request: pytest.FixtureRequest) -> Iterator[FakeUpstream]:
    server = FakeUpstream()
    server.start()
    request.config.stash[_SERVER] = server
    yield server
    del request.config.stash[_SERVER]
    server.stop()


@pytest.fixture
def fake_upstream(fake_upstream_server: FakeUpstream) -> FakeUpstream:
    fake_upstream_server.reset()
    return fake_upstream_server


@pytest.fixture(autouse=True)
def _reset_fake_upstream(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    server = request.config.stash.get(_SERVER, None)
    if server is not None:
        server.reset()


# -- the fake media provider (SuperDuperAI, OpenAI and Azure images) ------------------

_MEDIA = pytest.StashKey[FakeMediaUpstream]()


@pytest.fixture(scope="session")
def fake_media_server(request: pytest.FixtureRequest) -> Iterator[FakeMediaUpstream]:
    server = FakeMediaUpstream()
    server.start()
    request.config.stash[_MEDIA] = server
    yield server
    del request.config.stash[_MEDIA]
    server.stop()


@pytest.fixture
def fake_media(fake_media_server: FakeMediaUpstream) -> Iterator[FakeMediaUpstream]:
    """The fake media provider, unscripted, reset (gates opened) after the test."""
    fake_media_server.reset()
    yield fake_media_server
    fake_media_server.reset()
