"""REST around the sockets: status, feedback, input validation, and the
OpenAI-compatible /v1/audio endpoints of the gateway."""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from aihub.providers.stt_base import Pcm, from_wav, to_wav
from tests.conftest import LiveServer
from tests.factories import admin_headers, make_user
from tests.fakes.speech import FakeSpeech, SpeechReply
from tests.fakes.upstream import FakeUpstream, Reply
from tests.voice.helpers import add_speech_key, connect, request_log, voice_user


async def _one_turn(voice_url: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice_url)
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Hello?"})
        done = await sock.next_event("response.done")
        await sock.ws.close()
    return done


async def test_status_reports_sessions_latency_and_errors(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    fake_upstream.script(voice.chat_key, [Reply(text="Hi there.")])
    await _one_turn(voice.session["ws_url"])
    response = await http.get("/api/v1/status", headers=voice.user.headers)
    assert response.status_code == 200, response.text
    status = response.json()
    assert status["status"] == "ok"
    assert status["turns"] == 1
    assert status["latency_ms"]["llm_first_token_ms"]["count"] == 1
    assert status["latency_ms"]["overhead_ms"]["p50"] is not None
    assert status["latency_ms"]["barge_in_ms"]["count"] == 0
    assert status["error_rates"]["turn"] == 0.0
    assert status["engines"]["tts"]["espeak"] in (True, False)
    assert (await http.get("/api/v1/status")).status_code == 401


async def test_feedback_is_stored_and_listed_for_admins(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech, tts={"provider": "none"})
    done = await _one_turn(voice.session["ws_url"])
    sid = voice.session["session_id"]
    body = {
        "session_id": sid,
        "turn_id": done["turn_id"],
        "rating": 4,
        "comment": "quick",
    }
    created = await http.post("/api/v1/feedback", json=body, headers=voice.user.headers)
    assert created.status_code == 201, created.text
    assert created.json()["message_id"] == done["message_id"]
    whole = await http.post(
        "/api/v1/feedback",
        json={"session_id": sid, "rating": 5},
        headers=voice.user.headers,
    )
    assert whole.status_code == 201
    other = await make_user(http)
    foreign = await http.post("/api/v1/feedback", json=body, headers=other.headers)
    assert foreign.status_code == 404
    bad_turn = {**body, "turn_id": "turn_nope"}
    missing = await http.post(
        "/api/v1/feedback", json=bad_turn, headers=voice.user.headers
    )
    assert missing.status_code == 404
    bad = await http.post(
        "/api/v1/feedback", json={**body, "rating": 9}, headers=voice.user.headers
    )
    assert bad.status_code == 422
    assert bad.json()["error_type"] == "validation_error"
    assert (
        await http.get("/api/v1/feedback", headers=voice.user.headers)
    ).status_code == 403
    listed = await http.get(
        "/api/v1/feedback",
        params={"session_id": sid},
        headers=await admin_headers(http),
    )
    assert [f["rating"] for f in listed.json()] == [5, 4]


@pytest.mark.parametrize(
    "body",
    [
        {"language": "de"},
        {"audio_format": {"sample_rate": 44100}},
        {"audio_format": {"sample_rate": 12000}},  # an Opus rate only
        {"audio_format": {"encoding": "opus", "sample_rate": 44100}},
        {"temperature": 2.5},
        {"max_tokens": 0},
        {"audio_format": {"channels": 2}},
        {"intents": [{"name": "9bad"}]},
        {"intents": [{"name": "a", "entities": {"type": "array"}}]},
        {"intents": [{"name": "a", "entities": {"properties": {}, "required": ["x"]}}]},
        {"tts": {"speed": 9}},
        {"stt": {"provider": "nope"}},
    ],
)
async def test_bad_session_input_is_a_validation_error(
    http: httpx.AsyncClient, live_server: LiveServer, body: dict[str, object]
) -> None:
    user = await make_user(http)
    response = await http.post("/api/v1/session", json=body, headers=user.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error_type"] == "validation_error"


async def test_session_update_changes_the_voice_for_next_turns(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send(
            {
                "type": "session.update",
                "session": {
                    "tts": {"voice": "nova", "speed": 1.25},
                    "system_prompt": "Be brief.",
                },
            }
        )
        updated = await sock.next_event("session.updated")
        await sock.send({"type": "session.update", "session": {"language": "xx"}})
        error = await sock.next_event("error")
        await sock.send({"type": "input_text", "text": "Hi"})
        await sock.next_event("response.done")
        await sock.send({"type": "nonsense"})
        unknown = await sock.next_event("error")
        await sock.ws.send_str("{not json")
        garbled = await sock.next_event("error")
        await sock.ws.close()
    assert updated["config"]["tts"]["voice"] == "nova"
    assert error["error_type"] == "validation_error"
    assert unknown["error_type"] == garbled["error_type"] == "validation_error"
    speech = fake_speech.requests_to("/audio/speech")[-1].json
    assert (speech["voice"], speech["speed"]) == ("nova", 1.25)
    system = fake_upstream.requests_for(voice.chat_key)[-1].json["messages"][0]
    assert system["content"].startswith("Be brief.")


async def test_gateway_transcription_and_speech_through_a_provider(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_speech: FakeSpeech,
    utterance: bytes,
    database_url: str,
) -> None:
    user = await make_user(http)
    await add_speech_key(http, user, fake_speech, "sk-gw-speech")
    fake_speech.script("sk-gw-speech", [SpeechReply(text="hello world")])
    wav = to_wav(Pcm(utterance, 16000))
    response = await http.post(
        "/v1/audio/transcriptions",
        files={"file": ("hi.wav", wav, "audio/wav")},
        data={"model": "openai_compatible/whisper-1", "language": "en"},
        headers=user.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"text": "hello world"}
    (sent,) = fake_speech.requests_to("/audio/transcriptions")
    assert sent.file == wav
    assert sent.fields["model"] == "whisper-1"
    speech = await http.post(
        "/v1/audio/speech",
        json={
            "model": "openai_compatible/tts-1",
            "input": "Hello there",
            "voice": "alloy",
            "response_format": "pcm",
        },
        headers=user.headers,
    )
    assert speech.status_code == 200
    assert speech.headers["content-type"] == "audio/pcm"
    assert len(speech.content) == 24000 * 2 * 220 // 1000  # 20 ms per char
    rows = await request_log(database_url, user.id)
    assert [(r["kind"], r["provider"], r["model"]) for r in rows] == [
        ("stt", "openai_compatible", "whisper-1"),
        ("tts", "openai_compatible", "tts-1"),
    ]
    # Priced from the catalog: per second of audio, per million characters.
    assert rows[0]["cost"] == pytest.approx(0.0001 * len(utterance) / 32000, rel=0.01)
    assert rows[1]["cost"] == pytest.approx(15.0 * 11 / 1_000_000)


async def test_gateway_speech_errors_use_the_openai_shape(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    user = await make_user(http)
    response = await http.post(
        "/v1/audio/speech", json={"model": "tts-1", "input": "hi"}, headers=user.headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "api_key_not_found"
    bad = await http.post(
        "/v1/audio/speech", json={"model": "tts-1"}, headers=user.headers
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["type"] == "invalid_request_error"
    anonymous = await http.post(
        "/v1/audio/speech", json={"model": "tts-1", "input": "hi"}
    )
    assert anonymous.status_code == 401


async def test_gateway_speech_with_espeak_as_wav(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    user = await make_user(http)
    response = await http.post(
        "/v1/audio/speech",
        json={
            "model": "espeak",
            "input": "Привет, мир",
            "voice": "ru",
            "response_format": "wav",
        },
        headers=user.headers,
    )
    if response.status_code == 422:
        pytest.skip("espeak-ng is not installed")
    assert response.status_code == 200, response.text
    audio = from_wav(response.content)
    assert audio.sample_rate == 24000
    assert audio.duration_s > 0.3
    mp3 = await http.post(
        "/v1/audio/speech",
        json={"model": "espeak", "input": "hi", "response_format": "mp3"},
        headers=user.headers,
    )
    assert mp3.status_code == 422
