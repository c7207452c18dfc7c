"""OpenAI-compatible text to speech: POST {base_url}/audio/speech
``{"model", "input", "voice", "response_format", "speed", "instructions"}``.

The voice pipeline asks ``response_format: "pcm"`` (raw PCM16 mono; 24 kHz on
OpenAI, ``Credentials.settings["pcm_sample_rate"]`` for a server that differs)
and streams it, resampled to the session's rate, chunk by chunk. ``open_speech``
is the gateway's pass-through of any format the upstream makes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson

from aihub.providers.base import Credentials
from aihub.providers.errors import UpstreamBadRequest
from aihub.providers.http import (
    DEFAULT_TIMEOUTS,
    Timeouts,
    join_url,
    raise_for_reply,
    translate,
)
from aihub.providers.stt_openai import auth_headers, base_url_of
from aihub.providers.tts_base import StreamResampler, TtsOptions

OPENAI_PCM_RATE = 24000
DEFAULT_VOICE = "alloy"
READ_CHUNK = 4096


def speech_body(text: str, options: TtsOptions, response_format: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": options.model,
        "input": text,
        "voice": options.voice or DEFAULT_VOICE,
        "response_format": response_format,
    }
    if options.speed != 1.0:
        body["speed"] = options.speed
    if options.instructions:
        body["instructions"] = options.instructions
    return body


class OpenAITtsAdapter:
    name = "openai"
    default_base_url: str | None = "https://api.openai.com/v1"

    @asynccontextmanager
    async def open_speech(
        self,
        http: aiohttp.ClientSession | None,
        creds: Credentials | None,
        body: Mapping[str, Any],
        *,
        timeouts: Timeouts | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The upstream's 2xx reply (its body not read yet), else the typed error."""
        if http is None or creds is None:
            raise UpstreamBadRequest(
                "an HTTP session and a key are needed", status=None
            )
        url = join_url(base_url_of(creds, self.default_base_url), "audio/speech")
        headers = {**auth_headers(creds), "Content-Type": "application/json"}
        timeout = (timeouts or DEFAULT_TIMEOUTS).stream
        try:
            async with http.post(
                url, data=orjson.dumps(body), headers=headers, timeout=timeout
            ) as resp:
                await raise_for_reply(resp, secret=creds.api_key)
                yield resp
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise translate(exc, secret=creds.api_key) from exc

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
        source_rate = OPENAI_PCM_RATE
        if creds is not None:
            source_rate = int(creds.settings.get("pcm_sample_rate") or source_rate)
        resampler = StreamResampler(source_rate, sample_rate)
        body = speech_body(text, options, "pcm")
        async with self.open_speech(http, creds, body, timeouts=timeouts) as resp:
            async for chunk in resp.content.iter_chunked(READ_CHUNK):
                out = resampler.feed(chunk)
                if out:
                    yield out
        tail = resampler.flush()
        if tail:
            yield tail
