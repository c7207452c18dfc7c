from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aihub.core.db import Base, TimestampMixin, utcnow

JOB_STATUSES = ("queued", "running", "completed", "failed", "cancelled")


class MediaJob(TimestampMixin, Base):
    __tablename__ = "media_jobs"
    __table_args__ = (
        Index("ix_media_jobs_user_id_created_at", "user_id", "created_at"),
        Index("ix_media_jobs_status_priority", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    gateway_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("gateway_keys.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[str] = mapped_column(String(16))  # image | video
    provider: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    percent: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str | None] = mapped_column(String(64), default=None)
    upstream_job_id: Mapped[str | None] = mapped_column(String(200), default=None)
    provider_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("provider_keys.id", ondelete="SET NULL"), default=None
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker_id: Mapped[str | None] = mapped_column(String(100), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    retry_at: Mapped[datetime | None] = mapped_column(default=None)
    """After a transient failure: no attempt starts before this time (backoff)."""
    error_type: Mapped[str | None] = mapped_column(String(32), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class MediaJobEvent(Base):
    """Every event a job emitted, so an SSE client resuming with Last-Event-ID
    gets exactly what it missed."""

    __tablename__ = "media_job_events"
    __table_args__ = (Index("ix_media_job_events_job_id_seq", "job_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("media_jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
