"""The realtime session over a real WebSocket on 127.0.0.1: speech and typed
turns, transcripts, answers as text and audio, metrics, the thread."""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from aihub.providers.stt_base import from_wav
from tests.conftest import LiveServer
from tests.fakes.speech import FakeSpeech, SpeechReply
from tests.fakes.upstream import FakeUpstream, Reply
from tests.voice.helpers import connect, request_log, voice_user


async def test_typed_text_is_answered_in_text_and_audio(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    fake_upstream.script(voice.chat_key, [Reply(text="Sure. Your table is ready.")])
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        created = await sock.next_event("session.created")
        assert created["session_id"] == voice.session["session_id"]
        assert created["resumed"] is False
        await sock.send({"type": "input_text", "text": "Is my table ready?"})
        done = await sock.next_event("response.done")
        await sock.ws.close()
    deltas = "".join(e["delta"] for e in sock.events("response.text.delta"))
    assert deltas == "Sure. Your table is ready."
    start = sock.index_of("response.audio.start")
    audio = sock.audio_between(start)
    assert audio
    assert sum(map(len, audio)) > 0
    assert done["status"] == "complete"
    assert done["metrics"]["llm_first_token_ms"] is not None
    assert done["metrics"]["overhead_ms"] is not None
    spoken = [r.json["input"] for r in fake_speech.requests_to("/audio/speech")]
    assert spoken == ["Sure.", "Your table is ready."]
    sent = fake_upstream.requests_for(voice.chat_key)[-1].json["messages"]
    assert sent[-1] == {"role": "user", "content": "Is my table ready?"}


async def test_spoken_utterance_is_transcribed_answered_and_stored(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    utterance: bytes,
    database_url: str,
) -> None:
    voice = await voice_user(http, fake_upstream, fake_speech)
    fake_speech.script(voice.speech_key, [SpeechReply(text="Book a table for two.")])
    fake_upstream.script(voice.chat_key, [Reply(text="Done. See you soon.")])
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send_audio(utterance)
        started = await sock.next_event("input_audio.speech_started")
        stopped = await sock.next_event("input_audio.speech_stopped")
        final = await sock.next_event("transcript.final")
        done = await sock.next_event("response.done")
        await sock.ws.close()
    assert started["turn_id"] == stopped["turn_id"] == final["turn_id"]
    assert final["text"] == "Book a table for two."
    # The STT got one WAV holding the utterance (speech plus a little silence).
    (stt,) = fake_speech.requests_to("/audio/transcriptions")
    heard = from_wav(stt.file)
    assert heard.sample_rate == 16000
    assert 2.0 < heard.duration_s < len(utterance) / 32000
    assert stt.fields["model"] == "whisper-1"
    assert stt.fields["language"] == "en"
    sent = fake_upstream.requests_for(voice.chat_key)[-1].json["messages"]
    assert sent[-1] == {"role": "user", "content": "Book a table for two."}
    metrics = done["metrics"]
    for stage in (
        "endpoint_ms",
        "stt_final_ms",
        "llm_first_token_ms",
        "tts_first_audio_ms",
        "response_ms",
        "overhead_ms",
    ):
        assert metrics[stage] is not None, stage
        assert metrics[stage] >= 0, stage
    # 16 kHz PCM out: the TTS tone (20 ms per character at 24 kHz) resampled.
    audio = b"".join(sock.audio_between(sock.index_of("response.audio.start")))
    expected_ms = 20 * (len("Done.") + len("See you soon."))
    assert abs(len(audio) / 32 - expected_ms) < 50
    thread = (
        await http.get(
            f"/api/threads/{voice.session['thread_id']}", headers=voice.user.headers
        )
    ).json()
    roles = [(m["role"], m["content"], m["status"]) for m in thread["messages"]]
    assert roles[-2:] == [
        ("user", "Book a table for two.", "complete"),
        ("assistant", "Done. See you soon.", "complete"),
    ]
    answer = thread["messages"][-1]
    assert answer["id"] == done["message_id"]
    assert answer["meta_data"]["turn_id"] == final["turn_id"]
    assert answer["meta_data"]["metrics"]["stt_final_ms"] == metrics["stt_final_ms"]
    assert "cost" in answer["meta_data"]
    rows = await request_log(database_url, voice.user.id)
    assert [(r["kind"], r["status"]) for r in rows] == [
        ("stt", "ok"),
        ("chat", "ok"),
        ("tts", "ok"),
    ]
    user_message = thread["messages"][-2]["id"]
    assert [r["message_id"] for r in rows] == [user_message, answer["id"], answer["id"]]
    assert sum(r["cost"] for r in rows) == pytest.approx(answer["meta_data"]["cost"])
