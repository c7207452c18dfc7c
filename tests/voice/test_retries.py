"""Issue 14: voice and speech retry a provider 5xx before the first byte, as
chat does (AIHUB_UPSTREAM_RETRIES, with backoff), and report the key's health
the same way: a 5xx says nothing against the key, a 429 rests it and the call
moves to the next key."""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx

from aihub.providers.stt_base import Pcm, to_wav
from tests.conftest import LiveServer
from tests.factories import Account, make_user
from tests.fakes.speech import FakeSpeech, SpeechReply
from tests.fakes.upstream import FakeUpstream, Reply
from tests.voice.helpers import add_speech_key, connect, request_log, voice_user


async def _key_statuses(http: httpx.AsyncClient, user: Account) -> dict[str, str]:
    response = await http.get("/api/api-keys/", headers=user.headers)
    assert response.status_code == 200, response.text
    return {key["name"]: key["status"] for key in response.json()}


async def test_session_retries_a_5xx_of_stt_and_of_tts(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    utterance: bytes,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    fake_speech.script(
        voice.speech_key,
        [
            SpeechReply(status=500),  # the transcription, first try
            SpeechReply(text="Book a table for two."),  # ... its retry
            SpeechReply(status=503),  # the first sentence's speech, first try
        ],
    )
    fake_upstream.script(voice.chat_key, [Reply(text="Done.")])
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send_audio(utterance)
        final = await sock.next_event("transcript.final")
        done = await sock.next_event("response.done")
        await sock.ws.close()

    assert final["text"] == "Book a table for two."
    assert done["status"] == "complete"
    audio = b"".join(sock.audio_between(sock.index_of("response.audio.start")))
    assert audio
    assert len(fake_speech.requests_to("/audio/transcriptions")) == 2
    spoken = [r.json["input"] for r in fake_speech.requests_to("/audio/speech")]
    assert spoken == ["Done.", "Done."]
    assert (await _key_statuses(http, voice.user))[voice.speech_key] == "ok"


async def test_gateway_transcription_retries_a_5xx(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_speech: FakeSpeech,
    utterance: bytes,
    database_url: str,
) -> None:
    user = await make_user(http)
    await add_speech_key(http, user, fake_speech, "sk-stt-5xx")
    fake_speech.script(
        "sk-stt-5xx", [SpeechReply(status=502), SpeechReply(text="hello again")]
    )
    wav = to_wav(Pcm(utterance, 16000))

    response = await http.post(
        "/v1/audio/transcriptions",
        files={"file": ("hi.wav", wav, "audio/wav")},
        data={"model": "openai_compatible/whisper-1"},
        headers=user.headers,
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"text": "hello again"}
    sent = fake_speech.requests_to("/audio/transcriptions")
    assert [r.file for r in sent] == [wav, wav]
    rows = await request_log(database_url, user.id)
    assert [(r["kind"], r["status"]) for r in rows] == [("stt", "ok")]
    assert (await _key_statuses(http, user))["sk-stt-5xx"] == "ok"


async def test_gateway_speech_retries_a_5xx_before_the_first_byte(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_speech: FakeSpeech,
    database_url: str,
) -> None:
    user = await make_user(http)
    await add_speech_key(http, user, fake_speech, "sk-tts-5xx")
    fake_speech.script("sk-tts-5xx", [SpeechReply(status=500)])
    body: dict[str, Any] = {
        "model": "openai_compatible/tts-1",
        "input": "Hello there",
        "voice": "alloy",
        "response_format": "pcm",
    }

    speech = await http.post("/v1/audio/speech", json=body, headers=user.headers)

    assert speech.status_code == 200, speech.text
    assert len(speech.content) == 24000 * 2 * 220 // 1000  # 20 ms per char
    assert len(fake_speech.requests_to("/audio/speech")) == 2
    rows = await request_log(database_url, user.id)
    assert [(r["kind"], r["status"]) for r in rows] == [("tts", "ok")]


async def test_gateway_speech_gives_up_after_the_retries_with_a_5xx_error(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_speech: FakeSpeech,
    database_url: str,
) -> None:
    user = await make_user(http)
    await add_speech_key(http, user, fake_speech, "sk-tts-down")
    fake_speech.script("sk-tts-down", default=SpeechReply(status=500))
    body = {"model": "openai_compatible/tts-1", "input": "Hi", "voice": "alloy"}

    speech = await http.post("/v1/audio/speech", json=body, headers=user.headers)

    assert speech.status_code == 502, speech.text
    assert speech.json()["error"]["type"] == "api_error"
    # the first try and AIHUB_UPSTREAM_RETRIES (2) more
    assert len(fake_speech.requests_to("/audio/speech")) == 3
    rows = await request_log(database_url, user.id)
    assert [(r["kind"], r["status"]) for r in rows] == [("tts", "error")]
    assert (await _key_statuses(http, user))["sk-tts-down"] == "ok"


async def test_gateway_speech_moves_to_the_next_key_after_a_429(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_speech: FakeSpeech,
) -> None:
    user = await make_user(http)
    await add_speech_key(http, user, fake_speech, "sk-tts-limited")
    await add_speech_key(http, user, fake_speech, "sk-tts-fine")
    fake_speech.script(
        "sk-tts-limited", default=SpeechReply(status=429, retry_after=600)
    )
    body = {"model": "openai_compatible/tts-1", "input": "Hi", "voice": "alloy"}

    # two calls: round-robin lends the limited key to one of them at least
    for _ in range(2):
        speech = await http.post("/v1/audio/speech", json=body, headers=user.headers)
        assert speech.status_code == 200, speech.text

    keys = [r.key for r in fake_speech.requests_to("/audio/speech")]
    assert keys.count("sk-tts-limited") == 1
    assert keys.count("sk-tts-fine") == 2
    statuses = await _key_statuses(http, user)
    assert statuses == {"sk-tts-limited": "cooldown", "sk-tts-fine": "ok"}
