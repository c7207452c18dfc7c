"""The light offline fallback: espeak-ng (the Debian package) as a subprocess,
with Russian, English and about a hundred other languages. Robotic but instant.

``espeak-ng --stdout`` writes a WAV (22050 Hz) that is read as it comes; the
text goes through stdin, never the command line.
"""

from __future__ import annotations

import asyncio
import shutil
import struct
from collections.abc import AsyncIterator

import aiohttp

from aihub.providers.base import Credentials
from aihub.providers.errors import UpstreamBadRequest, UpstreamUnavailable
from aihub.providers.http import Timeouts
from aihub.providers.tts_base import StreamResampler, TtsOptions

BINARY = "espeak-ng"
BASE_WPM = 175
READ_CHUNK = 8192
_VOICES = {"en": "en-us", "ru": "ru"}


def is_available() -> bool:
    return shutil.which(BINARY) is not None


def _voice(options: TtsOptions) -> str:
    voice = options.voice or _VOICES.get(options.language or "en", "en-us")
    if not voice.replace("-", "").replace("+", "").isalnum():
        raise UpstreamBadRequest(f"invalid espeak-ng voice {voice!r}", status=None)
    return voice


def _wav_header(data: bytes) -> tuple[int, int] | None:
    """(sample rate, offset of the samples) once the header is complete."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        if len(data) >= 12:
            raise UpstreamUnavailable("espeak-ng wrote no WAV")
        return None
    pos, rate = 12, 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        if chunk_id == b"fmt ":
            if pos + 16 > len(data):
                return None
            rate = struct.unpack_from("<I", data, pos + 12)[0]
        elif chunk_id == b"data":
            return (rate, pos + 8) if rate else None
        pos += 8 + size
    return None


class EspeakTtsAdapter:
    name = "espeak"

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
        binary = shutil.which(BINARY)
        if binary is None:
            raise UpstreamUnavailable("espeak-ng is not installed")
        wpm = str(max(80, min(450, int(BASE_WPM * options.speed))))
        proc = await asyncio.create_subprocess_exec(
            binary,
            "--stdout",
            "-v",
            _voice(options),
            "-s",
            wpm,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if proc.stdin is None or proc.stdout is None:  # pragma: no cover - PIPE given
            raise UpstreamUnavailable("espeak-ng pipes are missing")
        try:
            proc.stdin.write(text.encode())
            await proc.stdin.drain()
            proc.stdin.close()
            async for chunk in _samples(proc.stdout, sample_rate):
                yield chunk
            if await proc.wait() != 0:
                raise UpstreamUnavailable("espeak-ng failed")
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def _samples(
    stdout: asyncio.StreamReader, sample_rate: int
) -> AsyncIterator[bytes]:
    head = b""
    resampler: StreamResampler | None = None
    while True:
        chunk = await stdout.read(READ_CHUNK)
        if not chunk:
            break
        if resampler is None:
            head += chunk
            found = _wav_header(head)
            if found is None:
                continue
            rate, offset = found
            resampler = StreamResampler(rate, sample_rate)
            chunk, head = head[offset:], b""
        out = resampler.feed(chunk)
        if out:
            yield out
    if resampler is not None:
        tail = resampler.flush()
        if tail:
            yield tail
