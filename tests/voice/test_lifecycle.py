"""Ending a session is for good: DELETE closes its open socket, a socket that
closes never brings it back, and a reconnect right after ``session.end`` is
refused. ``session.update`` is checked as strictly as session creation."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import httpx
import pytest

from aihub.core.settings import Settings
from aihub.main import create_app
from aihub.providers.stt_local import is_available as local_stt_available
from aihub.providers.tts_piper import is_available as piper_available
from tests.conftest import LiveServer
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream
from tests.voice.helpers import connect, voice_user


async def _refused(url: str) -> tuple[dict[str, object], int | None]:
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, url)
        error = await sock.next_event("error")
        code = await sock.closed()
    return error, code


async def _settled_status(
    http: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> str:
    """The session's status once the closed socket's own write has landed."""
    await asyncio.sleep(0.5)
    status: str = (await http.get(path, headers=headers)).json()["status"]
    return status


async def test_delete_closes_the_open_socket_and_stays_ended(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech, tts={"provider": "none"})
    sid = voice.session["session_id"]
    path = f"/api/v1/session/{sid}"
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        deleted = await http.delete(path, headers=voice.user.headers)
        assert deleted.status_code == 204
        ended = await sock.next_event("session.ended")
        assert await sock.closed() == 1000
    assert ended["session_id"] == sid
    assert await _settled_status(http, path, voice.user.headers) == "ended"
    token = await http.post(f"{path}/token", headers=voice.user.headers)
    assert token.status_code == 410
    error, code = await _refused(voice.session["ws_url"])
    assert (error["error_type"], code) == ("session_expired", 4410)
    # Deleting again is harmless.
    assert (await http.delete(path, headers=voice.user.headers)).status_code == 204


async def test_a_reconnect_right_after_session_end_is_refused(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech, tts={"provider": "none"})
    sid = voice.session["session_id"]
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "session.end"})
        await sock.next_event("session.ended")
        # Before the first socket has even closed.
        again = await connect(client, voice.session["ws_url"])
        error = await again.next_event("error")
        code = await again.closed()
        assert await sock.closed() == 1000
    assert (error["error_type"], code) == ("session_expired", 4410)
    path = f"/api/v1/session/{sid}"
    assert await _settled_status(http, path, voice.user.headers) == "ended"


def redis_url_env() -> str | None:
    return os.environ.get("AIHUB_TEST_REDIS_URL") or os.environ.get("AIHUB_REDIS_URL")


needs_local = pytest.mark.skipif(
    not (local_stt_available() and piper_available()),
    reason="the voice-local extra is not installed",
)


@needs_local
async def test_update_to_a_language_the_engines_lack_is_refused(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(
        http,
        fake_upstream,
        fake_speech,
        language="en",
        stt={"provider": "local"},
        tts={"provider": "piper"},
        temperature=0.3,
    )
    sid = voice.session["session_id"]
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        created = await sock.next_event("session.created")
        refused = []
        for change in (
            {"language": "ru"},
            {"temperature": 5},
            {"max_tokens": 0},
            {"max_tokens": "many"},
            {"system_prompt": "x" * 20_001},
        ):
            await sock.send({"type": "session.update", "session": change})
            refused.append(await sock.next_event("error"))
        await sock.send(
            {
                "type": "session.update",
                "session": {"temperature": 1.5, "max_tokens": 50},
            }
        )
        updated = await sock.next_event("session.updated")
        await sock.ws.close()
    assert [e["error_type"] for e in refused] == ["validation_error"] * 5
    assert "English only" in str(refused[0]["error_message"])
    assert "temperature" in str(refused[1]["error_message"])
    assert "max_tokens" in str(refused[2]["error_message"])
    config = updated["config"]
    assert (config["language"], config["temperature"], config["max_tokens"]) == (
        "en",
        1.5,
        50,
    )
    assert config["stt"] == created["config"]["stt"]
    assert config["tts"] == created["config"]["tts"]
    row = (await http.get(f"/api/v1/session/{sid}", headers=voice.user.headers)).json()
    assert row["config"]["language"] == "en"
    assert row["config"]["stt"]["provider"] == "local"


async def test_update_language_re_resolves_the_engines(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)  # remote engines
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "session.update", "session": {"language": "ru"}})
        updated = await sock.next_event("session.updated")
        await sock.ws.close()
    assert updated["config"]["language"] == "ru"
    assert updated["config"]["stt"]["provider"] == "openai_compatible"


@pytest.mark.skipif(
    not redis_url_env(), reason="two processes share the event bus through Redis"
)
async def test_delete_in_another_process_closes_the_socket(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    settings: Settings,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech, tts={"provider": "none"})
    sid = voice.session["session_id"]
    other = LiveServer(create_app(settings))
    other.start()
    try:
        async with (
            aiohttp.ClientSession() as client,
            httpx.AsyncClient(base_url=other.url, timeout=30) as second,
        ):
            sock = await connect(client, voice.session["ws_url"])
            await sock.next_event("session.created")
            deleted = await second.delete(
                f"/api/v1/session/{sid}", headers=voice.user.headers
            )
            assert deleted.status_code == 204
            await sock.next_event("session.ended")
            assert await sock.closed() == 1000
    finally:
        other.stop()
    path = f"/api/v1/session/{sid}"
    assert await _settled_status(http, path, voice.user.headers) == "ended"
