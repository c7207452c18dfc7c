"""Voice fixtures: the fake speech server, a spoken utterance made with
espeak-ng, quicker voice settings, and an HTTP client on the live server."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from aihub.core.settings import Settings
from aihub.providers.stt_base import from_wav, resample
from tests.conftest import LiveServer
from tests.fakes.speech import FakeSpeech

UTTERANCE = "Please book a table for two people tomorrow at seven."
RATE = 16000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Short limits so rate limiting is testable; everything else as shipped."""
    return settings.model_copy(
        update={
            "voice_sessions_per_minute": 6,
            "voice_turns_per_minute": 8,
            "voice_audio_lead_ms": 300,
            "voice_heartbeat_s": 5.0,
        }
    )


@pytest.fixture(scope="session")
def fake_speech_server() -> Iterator[FakeSpeech]:
    server = FakeSpeech()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_speech(fake_speech_server: FakeSpeech) -> Iterator[FakeSpeech]:
    fake_speech_server.reset()
    yield fake_speech_server
    fake_speech_server.reset()


def speak(text: str, path: Path) -> bytes:
    """PCM16 mono 16 kHz of ``text`` said by espeak-ng."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    subprocess.run([binary, "-w", str(path), text], check=True)
    pcm = from_wav(path.read_bytes())
    return resample(pcm.data, pcm.sample_rate, RATE)


def with_silence(pcm: bytes, before_ms: int = 300, after_ms: int = 1500) -> bytes:
    return (
        bytes(RATE * 2 * before_ms // 1000) + pcm + bytes(RATE * 2 * after_ms // 1000)
    )


@pytest.fixture(scope="session")
def utterance(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The spoken sentence with silence around it, PCM16 mono 16 kHz."""
    path = tmp_path_factory.mktemp("voice") / "utterance.wav"
    return with_silence(speak(UTTERANCE, path))


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        yield client
