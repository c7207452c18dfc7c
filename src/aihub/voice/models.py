"""Realtime voice: sessions, their turns (latency metrics per stage) and
feedback. The words themselves live in the session's thread (source "voice")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aihub.core.db import Base, TimestampMixin, utcnow


class VoiceSession(TimestampMixin, Base):
    __tablename__ = "voice_sessions"
    __table_args__ = (
        Index("ix_voice_sessions_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(
        ForeignKey("threads.id", ondelete="SET NULL"), default=None
    )
    gateway_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("gateway_keys.id", ondelete="SET NULL"), default=None
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="created")
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    # The dialogue manager's state: the multi-step command being filled in.
    dialogue_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    turn_count: Mapped[int] = mapped_column(Integer, default=0)


class VoiceFeedback(Base):
    __tablename__ = "voice_feedback"
    __table_args__ = (Index("ix_voice_feedback_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    session_id: Mapped[str] = mapped_column(
        ForeignKey("voice_sessions.id", ondelete="CASCADE")
    )
    turn_id: Mapped[str | None] = mapped_column(String(64), default=None)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoiceTurn(Base):
    """One exchange: what the user said or typed, the answer, and the time each
    stage took (milliseconds; None when the stage did not run)."""

    __tablename__ = "voice_turns"
    __table_args__ = (
        Index("ix_voice_turns_session_id_turn_id", "session_id", "turn_id"),
        Index("ix_voice_turns_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("voice_sessions.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    turn_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    input_kind: Mapped[str] = mapped_column(String(8), default="audio")
    status: Mapped[str] = mapped_column(String(16), default="complete")
    error_stage: Mapped[str | None] = mapped_column(String(8), default=None)
    endpoint_ms: Mapped[float | None] = mapped_column(Float, default=None)
    stt_final_ms: Mapped[float | None] = mapped_column(Float, default=None)
    llm_first_token_ms: Mapped[float | None] = mapped_column(Float, default=None)
    tts_first_audio_ms: Mapped[float | None] = mapped_column(Float, default=None)
    response_ms: Mapped[float | None] = mapped_column(Float, default=None)
    overhead_ms: Mapped[float | None] = mapped_column(Float, default=None)
    barge_in_ms: Mapped[float | None] = mapped_column(Float, default=None)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
