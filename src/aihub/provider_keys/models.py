from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aihub.core.db import Base, TimestampMixin

KEY_STATUSES = ("ok", "cooldown", "invalid")


class ProviderKey(TimestampMixin, Base):
    """A provider API key, encrypted at rest. A key owned by an admin with
    is_global set serves every user who has no key of their own."""

    __tablename__ = "provider_keys"
    __table_args__ = (
        Index("ix_provider_keys_user_id_provider", "user_id", "provider"),
        Index("ix_provider_keys_is_global_provider", "is_global", "provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200), default=None)
    encrypted_key: Mapped[str] = mapped_column(Text)
    masked_key: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_global: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="ok")
    cooldown_until: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
