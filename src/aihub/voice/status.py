"""GET /api/v1/status: health, live sessions, and the latency and error
figures of the last hour's turns (every process's: read from voice_turns)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.core.db import utcnow
from aihub.voice import repository
from aihub.voice.models import VoiceTurn
from aihub.voice.runtime import VoiceRuntime
from aihub.voice.schemas import Percentiles, VoiceStatus

WINDOW_S = 3600
MAX_TURNS = 10_000
STAGES = (
    "endpoint_ms",
    "stt_final_ms",
    "llm_first_token_ms",
    "tts_first_audio_ms",
    "response_ms",
    "overhead_ms",
    "barge_in_ms",
)
DEGRADED_ERROR_RATE = 0.5
MIN_TURNS_FOR_HEALTH = 10


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return None
    rank = max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))
    return round(ordered[rank], 1)


def _stage(turns: Sequence[VoiceTurn], name: str) -> Percentiles:
    values = sorted(v for t in turns if (v := getattr(t, name)) is not None)
    return Percentiles(
        count=len(values),
        p50=percentile(values, 0.5),
        p90=percentile(values, 0.9),
        p99=percentile(values, 0.99),
    )


def _rate(turns: Sequence[VoiceTurn], stage: str | None) -> float:
    if not turns:
        return 0.0
    if stage is None:
        failed = sum(1 for t in turns if t.status == "error")
    else:
        failed = sum(1 for t in turns if t.error_stage == stage)
    return round(failed / len(turns), 4)


async def voice_status(session: AsyncSession, rt: VoiceRuntime) -> VoiceStatus:
    now = utcnow()
    turns = await repository.list_recent_turns(
        session, since=now - timedelta(seconds=WINDOW_S), limit=MAX_TURNS
    )
    active = await repository.count_active_sessions(session, now=now)
    rates = {
        "turn": _rate(turns, None),
        "stt": _rate(turns, "stt"),
        "llm": _rate(turns, "llm"),
        "tts": _rate(turns, "tts"),
        "limits": _rate(turns, "limits"),
    }
    degraded = (
        len(turns) >= MIN_TURNS_FOR_HEALTH and rates["turn"] > DEGRADED_ERROR_RATE
    )
    return VoiceStatus(
        status="degraded" if degraded else "ok",
        active_sessions=active,
        connections=len(rt.sockets),
        window_s=WINDOW_S,
        turns=len(turns),
        latency_ms={name: _stage(turns, name) for name in STAGES},
        error_rates=rates,
        engines=rt.engines(),
    )
