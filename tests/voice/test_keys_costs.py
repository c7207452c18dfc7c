"""Voice through a gateway key: its models, budget and tpm hold for sessions
and turns, and every turn's cost (and /v1/audio's) is added to its spend.
Speech is costed in the unit the catalog prices the model by."""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
import pytest

from aihub.voice.engines import SpeechCall, billing_unit
from tests.conftest import LiveServer
from tests.factories import Account
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream, Reply
from tests.voice.helpers import connect, request_log, session_body, voice_user


async def _gateway_key(
    http: httpx.AsyncClient, user: Account, **fields: Any
) -> dict[str, Any]:
    response = await http.post(
        "/api/gateway-keys/", json={"name": "voice", **fields}, headers=user.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _bearer(key: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {key['key']}"}


async def _spend(http: httpx.AsyncClient, user: Account, key_id: int) -> float:
    keys = (await http.get("/api/gateway-keys/", headers=user.headers)).json()
    (key,) = [k for k in keys if k["id"] == key_id]
    spend: float = key["spend_usd"]
    return spend


async def test_key_models_are_enforced_on_session_creation(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    claude = await _gateway_key(http, voice.user, models=["claude-*"])
    refused = await http.post(
        "/api/v1/session", json=session_body(), headers=_bearer(claude)
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error_type"] == "forbidden"
    for allowed in (["gpt-4o*"], ["openai/gpt-4o-mini"], ["gpt-4o-mini"]):
        key = await _gateway_key(http, voice.user, models=allowed)
        created = await http.post(
            "/api/v1/session", json=session_body(), headers=_bearer(key)
        )
        assert created.status_code == 201, (allowed, created.text)
    broke = await _gateway_key(http, voice.user, budget_usd=0)
    billing = await http.post(
        "/api/v1/session", json=session_body(), headers=_bearer(broke)
    )
    assert billing.status_code == 402
    assert billing.json()["error_type"] == "billing"


async def test_turns_charge_the_key_and_stop_at_its_budget(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    database_url: str,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    key = await _gateway_key(http, voice.user, budget_usd=1e-9, models=["gpt-4o*"])
    fake_upstream.script(voice.chat_key, [Reply(text="Sure."), Reply(text="No.")])
    response = await http.post(
        "/api/v1/session", json=session_body(), headers=_bearer(key)
    )
    assert response.status_code == 201, response.text
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, response.json()["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Book a table"})
        first = await sock.next_event("response.done")
        await sock.send({"type": "input_text", "text": "And another"})
        error = await sock.next_event("error")
        second = await sock.next_event("response.done")
        await sock.ws.close()
    assert first["status"] == "complete"
    assert first["cost"] > 0
    assert (error["error_type"], error["stage"]) == ("billing", "limits")
    assert second["status"] == "error"
    assert len(fake_upstream.requests_for(voice.chat_key)) == 1
    assert await _spend(http, voice.user, key["id"]) == pytest.approx(first["cost"])
    # The gateway's speech endpoint charges the same key.
    speech = await http.post(
        "/v1/audio/speech",
        json={
            "model": "openai_compatible/tts-1",
            "input": "Hello there",
            "response_format": "pcm",
        },
        headers=_bearer(await _gateway_key(http, voice.user, name="tts")),
    )
    assert speech.status_code == 200
    rows = await request_log(database_url, voice.user.id)
    assert rows[-1]["kind"] == "tts"
    keys = (await http.get("/api/gateway-keys/", headers=voice.user.headers)).json()
    tts_key = next(k for k in keys if k["name"] == "tts")
    assert tts_key["spend_usd"] == pytest.approx(rows[-1]["cost"])
    assert rows[-1]["cost"] > 0


async def test_turns_count_against_the_key_tpm(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    key = await _gateway_key(http, voice.user, tpm=5)
    body = session_body(tts={"provider": "none"})
    response = await http.post("/api/v1/session", json=body, headers=_bearer(key))
    assert response.status_code == 201, response.text
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, response.json()["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Hello?"})
        first = await sock.next_event("response.done")
        await sock.send({"type": "input_text", "text": "Hello again?"})
        error = await sock.next_event("error")
        await sock.ws.close()
    assert first["status"] == "complete"
    assert (error["error_type"], error["stage"]) == ("rate_limit", "limits")


async def test_gpt_4o_mini_tts_is_costed_per_second_of_audio(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    database_url: str,
) -> None:
    voice = await voice_user(
        http,
        fake_upstream,
        fake_speech,
        tts={"provider": "openai_compatible", "model": "gpt-4o-mini-tts"},
    )
    fake_upstream.script(voice.chat_key, [Reply(text="Your table is booked.")])
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Book it"})
        await sock.next_event("response.done")
        await sock.ws.close()
    said = [r.json["input"] for r in fake_speech.requests_to("/audio/speech")]
    seconds = sum(max(0.1, 0.02 * len(text)) for text in said)  # the fake's audio
    speech = await http.post(
        "/v1/audio/speech",
        json={
            "model": "openai_compatible/gpt-4o-mini-tts",
            "input": "Hello there",
            "response_format": "pcm",
        },
        headers=voice.user.headers,
    )
    assert speech.status_code == 200
    rows = [
        r for r in await request_log(database_url, voice.user.id) if r["kind"] == "tts"
    ]
    assert [r["model"] for r in rows] == ["gpt-4o-mini-tts"] * 2
    assert rows[0]["cost"] == pytest.approx(0.00025 * seconds, rel=0.02)
    assert rows[1]["cost"] == pytest.approx(0.00025 * 0.22, rel=0.02)


def test_speech_is_billed_in_the_catalog_unit() -> None:
    assert billing_unit("openai", "tts-1") == "characters"
    assert billing_unit("openai", "gpt-4o-mini-tts") == "seconds"
    assert billing_unit("openai", "whisper-1") == "seconds"
    assert billing_unit("openai", "gpt-4o-mini") == "tokens"
    assert billing_unit("piper", "en_US-joe-medium") is None
    per_second = SpeechCall("openai", "gpt-4o-mini-tts", characters=100, seconds=4.0)
    assert per_second.cost == pytest.approx(0.001)
    per_char = SpeechCall("openai", "tts-1", characters=1000, seconds=60.0)
    assert per_char.cost == pytest.approx(0.015)
    per_token = SpeechCall("openai", "gpt-4o-mini", tokens=1_000_000)
    assert per_token.cost == pytest.approx(0.15)
    cached = SpeechCall("openai", "tts-1", characters=1000, cached=True)
    assert cached.cost == 0.0
