from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aihub.core.db import Base, TimestampMixin


class StoredFile(TimestampMixin, Base):
    """An uploaded image or a generated artifact held in the blob store."""

    __tablename__ = "files"
    __table_args__ = (
        Index("ix_files_user_id_id", "user_id", "id"),
        Index("ix_files_media_job_id", "media_job_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Unguessable public handle used in URLs (the row id is not).
    token: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500))
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    media_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("media_jobs.id", ondelete="CASCADE"), default=None
    )
