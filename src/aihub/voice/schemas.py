"""The voice API on the wire: POST /api/v1/session, /api/v1/feedback, status.

The seed names the paths only; the shapes follow aihub's conventions and the
OpenAI Realtime vocabulary (see architecture.md, "Voice").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aihub.core.json_limits import check_json

Language = Literal["ru", "en", "auto"]
AudioEncoding = Literal["pcm16", "opus"]
SttProvider = Literal["auto", "local", "openai", "openai_compatible"]
TtsProvider = Literal["auto", "piper", "espeak", "openai", "openai_compatible", "none"]
SAMPLE_RATES = (8000, 16000, 24000, 48000)
"""The PCM16 rates the pipeline supports (audio.py resamples them to its 16 kHz
on the way in; the TTS engines speak at them on the way out)."""
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
"""The rates libopus encodes and decodes."""
MAX_INTENTS = 32
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class AudioFormat(BaseModel):
    """Both directions. The seed's AUDIO_SAMPLE_RATE=16000, AUDIO_CHANNELS=1."""

    model_config = ConfigDict(extra="forbid")

    encoding: AudioEncoding = "pcm16"
    sample_rate: int = 16000
    channels: Literal[1] = 1
    frame_ms: Literal[10, 20, 40, 60] = 20
    """Opus only: the duration of one packet (one binary frame)."""

    @model_validator(mode="after")
    def _rate(self) -> AudioFormat:
        rates = OPUS_RATES if self.encoding == "opus" else SAMPLE_RATES
        if self.sample_rate not in rates:
            raise ValueError(
                f"sample_rate for {self.encoding} must be one of "
                + ", ".join(map(str, rates))
            )
        return self


class SttConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: SttProvider = "auto"
    model: str | None = Field(default=None, max_length=200)
    prompt: str | None = Field(default=None, max_length=2000)
    """Vocabulary hints passed to the engine."""
    partials: bool | None = None
    """Partial transcripts while the user speaks; default: with the local
    engine only (a remote one would bill the audio again for each)."""
    speculative: bool | None = None
    """Start the final transcript at the first pause, before the end of speech
    is sure (dropped if the user goes on); default: with the local engine only."""


class TtsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: TtsProvider = "auto"
    model: str | None = Field(default=None, max_length=200)
    voice: str | None = Field(default=None, max_length=100)
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(default=None, max_length=2000)
    """Tone and intonation, for models that take it (gpt-4o-mini-tts)."""


class IntentSpec(BaseModel):
    """A command the assistant recognizes; ``entities`` is the JSON schema of
    its arguments (``{"type": "object", "properties": ..., "required": [...]}``)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = Field(default="", max_length=1000)
    entities: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("name: letters, digits and _ (a letter first), max 64")
        return value

    @field_validator("entities")
    @classmethod
    def _schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_json(value)
        if value.get("type", "object") != "object":
            raise ValueError("entities must be a JSON schema of type object")
        props = value.get("properties", {})
        if not isinstance(props, dict):
            raise ValueError("entities.properties must be an object")
        required = value.get("required", [])
        if not isinstance(required, list) or not set(required) <= set(props):
            raise ValueError("entities.required must name properties")
        return {"type": "object", **value}


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language = "auto"
    system_prompt: str | None = Field(default=None, max_length=20_000)
    provider: str | None = Field(default=None, max_length=64)
    """The LLM's provider; with ``model`` alone the catalog picks it."""
    model: str | None = Field(default=None, max_length=200)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=16_384)
    stt: SttConfig = Field(default_factory=SttConfig)
    tts: TtsConfig = Field(default_factory=TtsConfig)
    audio_format: AudioFormat = Field(default_factory=AudioFormat)
    intents: list[IntentSpec] = Field(default_factory=list, max_length=MAX_INTENTS)
    title: str | None = Field(default=None, max_length=500)

    @field_validator("intents")
    @classmethod
    def _unique(cls, value: list[IntentSpec]) -> list[IntentSpec]:
        names = [intent.name for intent in value]
        if len(names) != len(set(names)):
            raise ValueError("intent names must be unique")
        return value


class SessionCreated(BaseModel):
    session_id: str
    ws_url: str
    token: str
    token_expires_at: datetime
    expires_at: datetime
    thread_id: int | None


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    thread_id: int | None
    config: dict[str, Any]
    dialogue_state: dict[str, Any]
    turn_count: int
    expires_at: datetime
    last_seen_at: datetime | None
    ended_at: datetime | None
    created_at: datetime


class TokenRead(BaseModel):
    ws_url: str
    token: str
    token_expires_at: datetime


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(min_length=1, max_length=36)
    turn_id: str | None = Field(default=None, max_length=64)
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=5000)


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    session_id: str
    turn_id: str | None
    message_id: int | None
    rating: int
    comment: str | None
    created_at: datetime


class Percentiles(BaseModel):
    count: int
    p50: float | None
    p90: float | None
    p99: float | None


class VoiceStatus(BaseModel):
    status: Literal["ok", "degraded"]
    active_sessions: int
    connections: int
    """WebSockets open on this process."""
    window_s: int
    turns: int
    latency_ms: dict[str, Percentiles]
    error_rates: dict[str, float]
    engines: dict[str, dict[str, bool]]
