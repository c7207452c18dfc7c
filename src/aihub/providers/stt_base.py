"""Speech to text: the normalized vocabulary, and the PCM helpers every speech
adapter shares (WAV framing, resampling).

Audio inside aihub is PCM16 little-endian mono (``Pcm``: bytes + sample rate).
An STT adapter turns one utterance into a ``Transcript``:

    text = await adapter.transcribe(http, creds, Pcm(data, 16000),
                                    options=SttOptions(model="whisper-1"))

Failures raise the ``ProviderError`` tree, as chat adapters do. Local engines
take no HTTP session and no credentials (``None``).
"""

from __future__ import annotations

import array
import io
import sys
import wave
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import aiohttp

    from aihub.providers.base import Credentials
    from aihub.providers.http import Timeouts

SAMPLE_WIDTH = 2
_BIG_ENDIAN = sys.byteorder == "big"


@dataclass(frozen=True, slots=True)
class Pcm:
    """PCM16 little-endian mono audio."""

    data: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.data) / (SAMPLE_WIDTH * self.sample_rate)


@dataclass(frozen=True, slots=True)
class SttOptions:
    model: str
    language: str | None = None
    """ISO-639-1 (``en``, ``ru``) or None to let the engine detect it."""
    prompt: str | None = None
    temperature: float | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str | None = None
    duration_s: float = 0.0


class SttAdapter(Protocol):
    @property
    def name(self) -> str: ...

    async def transcribe(
        self,
        http: aiohttp.ClientSession | None,
        creds: Credentials | None,
        audio: Pcm,
        *,
        options: SttOptions,
        timeouts: Timeouts | None = None,
    ) -> Transcript: ...


# -- PCM helpers -----------------------------------------------------------------


def to_wav(audio: Pcm) -> bytes:
    """A RIFF/WAVE file of ``audio``."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(audio.sample_rate)
        wav.writeframes(audio.data)
    return out.getvalue()


def from_wav(data: bytes) -> Pcm:
    """PCM16 mono from a WAV file (stereo is mixed down); ValueError otherwise."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels = wav.getnchannels()
            width = wav.getsampwidth()
            rate = wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file: {exc}") from exc
    if width != SAMPLE_WIDTH:
        raise ValueError("only 16-bit PCM WAV is supported")
    if channels == 2:
        frames = mix_to_mono(frames)
    elif channels != 1:
        raise ValueError("only mono or stereo WAV is supported")
    return Pcm(frames, rate)


def samples_of(data: bytes) -> array.array[int]:
    samples = array.array("h")
    samples.frombytes(data[: len(data) - len(data) % SAMPLE_WIDTH])
    if _BIG_ENDIAN:  # pragma: no cover - little-endian hosts
        samples.byteswap()
    return samples


def bytes_of(samples: array.array[int]) -> bytes:
    if _BIG_ENDIAN:  # pragma: no cover - little-endian hosts
        samples = array.array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def mix_to_mono(data: bytes) -> bytes:
    stereo = samples_of(data)
    mono = array.array(
        "h", ((a + b) // 2 for a, b in zip(stereo[::2], stereo[1::2], strict=False))
    )
    return bytes_of(mono)


def resample(data: bytes, source_rate: int, target_rate: int) -> bytes:
    """Linear-interpolation resampling of PCM16 mono (averaging when it is an
    integer decimation, which also filters a little). Enough for speech."""
    if source_rate == target_rate or not data:
        return data
    src = samples_of(data)
    if source_rate % target_rate == 0:
        step = source_rate // target_rate
        count = len(src) // step
        out = array.array(
            "h", (sum(src[i * step : i * step + step]) // step for i in range(count))
        )
        return bytes_of(out)
    ratio = source_rate / target_rate
    count = int(len(src) / ratio)
    last = len(src) - 1
    out = array.array("h", bytes(count * SAMPLE_WIDTH))
    for i in range(count):
        pos = i * ratio
        j = int(pos)
        frac = pos - j
        a = src[j]
        b = src[j + 1] if j < last else a
        out[i] = int(a + (b - a) * frac)
    return bytes_of(out)
