"""The session's audio format on the socket, both ways.

Inside, the pipeline hears PCM16 mono at 16 kHz (VAD and STT) and speaks PCM16
mono at the session's rate. ``InputDecoder`` turns the client's binary frames
into the former; ``OutputEncoder`` the latter into binary frames (PCM chunks of
``frame_ms``, or one Opus packet per frame). Opus needs opuslib and libopus
(the voice-local extra and the Debian package libopus0).
"""

from __future__ import annotations

import warnings
from importlib.util import find_spec
from typing import Any

from aihub.providers.stt_base import SAMPLE_WIDTH, resample
from aihub.providers.tts_base import StreamResampler
from aihub.voice.schemas import AudioFormat

PIPELINE_RATE = 16000
OUTPUT_FRAME_MS = 100
"""PCM answer audio goes out in frames this long (Opus: the session's frame_ms)."""
MAX_OPUS_FRAME_MS = 120


def opus_available() -> bool:
    if find_spec("opuslib") is None:
        return False
    try:
        _opus()
    except Exception:
        return False
    return True


def _opus() -> Any:
    # opuslib 3.0.1 has an `is not 0` that warns when first compiled.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        import opuslib  # type: ignore[import-untyped]  # no stubs; optional extra
    return opuslib


def bytes_per_ms(sample_rate: int) -> float:
    return sample_rate * SAMPLE_WIDTH / 1000


class InputDecoder:
    """Client frames -> PCM16 16 kHz. Raises ValueError on a bad frame."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.fmt = fmt
        self._decoder: Any = None
        self._resampler: StreamResampler | None = None
        if fmt.encoding == "opus":
            # libopus decodes straight to the rate asked for.
            self._decoder = _opus().Decoder(PIPELINE_RATE, 1)
        elif fmt.sample_rate != PIPELINE_RATE:
            self._resampler = StreamResampler(fmt.sample_rate, PIPELINE_RATE)
        self._odd = b""

    def decode(self, frame: bytes) -> bytes:
        if self._decoder is not None:
            max_samples = PIPELINE_RATE * MAX_OPUS_FRAME_MS // 1000
            try:
                pcm: bytes = self._decoder.decode(frame, max_samples)
            except Exception as exc:
                raise ValueError("invalid Opus packet") from exc
            return pcm
        data = self._odd + frame
        cut = len(data) - len(data) % SAMPLE_WIDTH
        self._odd = data[cut:]
        data = data[:cut]
        if self._resampler is not None:
            return self._resampler.feed(data)
        return data


class OutputEncoder:
    """PCM16 at the session's rate -> binary frames for the client."""

    def __init__(self, fmt: AudioFormat) -> None:
        self.fmt = fmt
        self.sample_rate = fmt.sample_rate
        self._encoder: Any = None
        if fmt.encoding == "opus":
            opus = _opus()
            self._encoder = opus.Encoder(fmt.sample_rate, 1, opus.APPLICATION_VOIP)
            self.frame_ms: int = fmt.frame_ms
        else:
            self.frame_ms = OUTPUT_FRAME_MS
        self._frame_bytes = int(bytes_per_ms(fmt.sample_rate) * self.frame_ms)
        self._rest = b""

    @property
    def mime(self) -> str:
        if self._encoder is not None:
            return f"audio/opus;rate={self.sample_rate};frame_ms={self.frame_ms}"
        return f"audio/pcm;rate={self.sample_rate};encoding=s16le;channels=1"

    def encode(self, pcm: bytes) -> list[tuple[bytes, float]]:
        """Whole frames of ``pcm`` (the rest waits for more): (frame, duration_ms)."""
        data = self._rest + pcm
        whole = len(data) - len(data) % self._frame_bytes
        self._rest = data[whole:]
        return [
            self._frame(data[i : i + self._frame_bytes])
            for i in range(0, whole, self._frame_bytes)
        ]

    def flush(self) -> list[tuple[bytes, float]]:
        data, self._rest = self._rest, b""
        if not data:
            return []
        if self._encoder is not None:  # Opus frames have a fixed size: pad
            data += bytes(self._frame_bytes - len(data))
        return [self._frame(data)]

    def reset(self) -> None:
        self._rest = b""

    def _frame(self, pcm: bytes) -> tuple[bytes, float]:
        duration_ms = len(pcm) / bytes_per_ms(self.sample_rate)
        if self._encoder is None:
            return pcm, duration_ms
        samples = len(pcm) // SAMPLE_WIDTH
        return bytes(self._encoder.encode(pcm, samples)), duration_ms


def to_pipeline_rate(pcm: bytes, sample_rate: int) -> bytes:
    return resample(pcm, sample_rate, PIPELINE_RATE)
