"""Text to speech: the normalized vocabulary.

A TTS adapter speaks one piece of text (a sentence, as the voice pipeline
sends them) as PCM16 mono at the sample rate asked for, in chunks as soon as
the engine gives them:

    async for chunk in adapter.stream(http, creds, "Hello there.",
                                      options=TtsOptions(model="tts-1", voice="alloy"),
                                      sample_rate=16000):
        ...

Failures raise the ``ProviderError`` tree. Local engines take no HTTP session
and no credentials (``None``).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aihub.providers.stt_base import SAMPLE_WIDTH, resample

if TYPE_CHECKING:
    import aiohttp

    from aihub.providers.base import Credentials
    from aihub.providers.http import Timeouts


@dataclass(frozen=True, slots=True)
class TtsOptions:
    model: str
    voice: str | None = None
    speed: float = 1.0
    language: str | None = None
    instructions: str | None = None
    """Tone and intonation for models that take them (gpt-4o-mini-tts)."""


class TtsAdapter(Protocol):
    @property
    def name(self) -> str: ...

    def stream(
        self,
        http: aiohttp.ClientSession | None,
        creds: Credentials | None,
        text: str,
        *,
        options: TtsOptions,
        sample_rate: int,
        timeouts: Timeouts | None = None,
    ) -> AsyncIterator[bytes]: ...


class StreamResampler:
    """Resamples PCM16 arriving in arbitrary chunks: keeps whole blocks of the
    rates' common period so no sample is lost at chunk edges."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self.source_rate = source_rate
        self.target_rate = target_rate
        period = source_rate // math.gcd(source_rate, target_rate)
        self._block = period * SAMPLE_WIDTH
        self._rest = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._rest + chunk
        if self.source_rate == self.target_rate:
            usable = len(data) - len(data) % SAMPLE_WIDTH
        else:
            usable = len(data) - len(data) % self._block
        self._rest = data[usable:]
        return resample(data[:usable], self.source_rate, self.target_rate)

    def flush(self) -> bytes:
        data, self._rest = self._rest, b""
        data = data[: len(data) - len(data) % SAMPLE_WIDTH]
        return resample(data, self.source_rate, self.target_rate)
