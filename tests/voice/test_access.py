"""Who may open a session's socket: its token, or its owner's credentials;
an expired, ended or foreign session is refused with an error event and a
close code, and left unchanged. Rate limits on sessions and turns."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import httpx
from sqlalchemy import text

from aihub.core.db import build_engine, utcnow
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream
from tests.voice.helpers import connect, create_session, voice_user


async def _expire(database_url: str, session_id: str) -> None:
    engine = build_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE voice_sessions SET expires_at = :at WHERE id = :id"),
            {"at": utcnow() - timedelta(minutes=1), "id": session_id},
        )
    await engine.dispose()


async def _refused(url: str, **kwargs: object) -> tuple[dict[str, object], int | None]:
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, url, **kwargs)
        error = await sock.next_event("error")
        code = await sock.closed()
    return error, code


async def test_session_answers_a_socket_url_and_24h_expiry(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    created = voice.session
    assert created["ws_url"].startswith(live_server.url.replace("http", "ws"))
    assert "/ws/audio?token=" in created["ws_url"]
    row = (
        await http.get(
            f"/api/v1/session/{created['session_id']}", headers=voice.user.headers
        )
    ).json()
    assert row["status"] == "created"
    assert row["config"]["stt"]["provider"] == "openai_compatible"
    assert row["config"]["audio_format"] == {
        "encoding": "pcm16",
        "sample_rate": 16000,
        "channels": 1,
        "frame_ms": 20,
    }


async def test_expired_session_is_refused(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    database_url: str,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    sid = voice.session["session_id"]
    await _expire(database_url, sid)
    error, code = await _refused(voice.session["ws_url"])
    assert error["error_type"] == "session_expired"
    assert code == 4410
    again = await http.post(f"/api/v1/session/{sid}/token", headers=voice.user.headers)
    assert again.status_code == 410
    assert again.json() == {
        "error": True,
        "error_message": "The voice session has expired or ended",
        "error_type": "session_expired",
    }


async def test_ended_session_is_refused(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "session.end"})
        await sock.next_event("session.ended")
        assert await sock.closed() == 1000
    error, code = await _refused(voice.session["ws_url"])
    assert (error["error_type"], code) == ("session_expired", 4410)


async def test_foreign_session_is_not_found_and_left_unchanged(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    owner = await voice_user(http, fake_upstream, fake_speech)
    other = await make_user(http)
    sid = owner.session["session_id"]
    for method, path in (
        ("GET", f"/api/v1/session/{sid}"),
        ("POST", f"/api/v1/session/{sid}/token"),
        ("DELETE", f"/api/v1/session/{sid}"),
    ):
        response = await http.request(method, path, headers=other.headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["error_type"] == "not_found"
    url = live_server.url.replace("http", "ws") + f"/ws/audio?session_id={sid}"
    error, code = await _refused(url, headers=other.headers)
    assert (error["error_type"], code) == ("not_found", 4404)
    row = (await http.get(f"/api/v1/session/{sid}", headers=owner.user.headers)).json()
    assert row["status"] == "created"
    assert row["last_seen_at"] is None
    # The owner's own credentials open it.
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, url, headers=owner.user.headers)
        created = await sock.next_event("session.created")
        await sock.ws.close()
    assert created["session_id"] == sid


async def test_bad_token_is_unauthorized(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    url = live_server.url.replace("http", "ws") + "/ws/audio?token=not-a-token"
    error, code = await _refused(url)
    assert (error["error_type"], code) == ("unauthorized", 4401)
    no_auth = await http.post("/api/v1/session", json={})
    assert no_auth.status_code == 401


async def test_session_creation_is_rate_limited(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)  # 1 of 6
    for _ in range(5):
        await create_session(http, voice.user)
    response = await http.post(
        "/api/v1/session",
        json={"tts": {"provider": "none"}},
        headers=voice.user.headers,
    )
    assert response.status_code == 429
    assert response.json()["error_type"] == "rate_limit"
    assert int(response.headers["Retry-After"]) >= 1
    other = await make_user(http)  # limits are per user
    await create_session(http, other, tts={"provider": "none"})


async def test_turns_are_rate_limited_on_the_socket(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech, tts={"provider": "none"})
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        for n in range(8):
            await sock.send({"type": "input_text", "text": f"Question {n}"})
            done = await sock.next_event("response.done")
            assert done["status"] == "complete"
        await sock.send({"type": "input_text", "text": "One too many"})
        error = await sock.next_event("error")
        done = await sock.next_event("response.done")
        await sock.send({"type": "ping"})
        await sock.next_event("pong")  # the socket stays open
        await sock.ws.close()
    assert error["error_type"] == "rate_limit"
    assert error["stage"] == "limits"  # refused before any engine, not the LLM
    assert done["status"] == "error"
    assert len(fake_upstream.requests_for(voice.chat_key)) == 8
    assert sock.audio_between(0) == []  # a text-only session (tts none)
