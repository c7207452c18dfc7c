"""Threads and their messages. A conversation is a tree: parent_id links a
message to the one it answers or follows, so regenerating or editing branches
instead of overwriting. A thread remembers the leaf of its active branch."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aihub.categories.models import Category
from aihub.core.db import Base, TimestampMixin, utcnow

MESSAGE_STATUSES = ("complete", "streaming", "stopped", "interrupted", "error")


class Thread(TimestampMixin, Base):
    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_user_id_last_message_at", "user_id", "last_message_at"),
        Index("ix_threads_user_id_category_id", "user_id", "category_id"),
        Index("ix_threads_user_id_is_archived", "user_id", "is_archived"),
        Index("ix_threads_user_id_is_pinned", "user_id", "is_pinned"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    provider: Mapped[str | None] = mapped_column(String(64), default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), default=None
    )
    is_pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    is_archived: Mapped[bool] = mapped_column(Boolean, default=False)
    system_prompt: Mapped[str | None] = mapped_column(Text, default=None)
    max_tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    temperature: Mapped[float | None] = mapped_column(Float, default=None)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Leaf of the branch GET /api/threads/{id} shows; no FK to avoid a cycle.
    active_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # Where the thread came from: hub, chat (seed 004), gateway (/v1), voice.
    source: Mapped[str] = mapped_column(String(16), default="hub")
    forked_from_message_id: Mapped[int | None] = mapped_column(Integer, default=None)

    category: Mapped[Category | None] = relationship(lazy="raise")
    messages: Mapped[list[Message]] = relationship(
        lazy="raise",
        back_populates="thread",
        order_by="Message.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Message(TimestampMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_thread_id_id", "thread_id", "id"),
        Index("ix_messages_parent_id", "parent_id"),
        Index("ix_messages_status", "status"),
        Index("ix_messages_response_id", "response_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    # Multimodal parts (text and image_url) when the message is more than text.
    content_parts: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON, default=None
    )
    tokens: Mapped[int | None] = mapped_column(Integer, default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    provider: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="complete")
    meta_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The /v1/responses id of a stored response's answer (random, known before
    # the row is written); None for every other message.
    response_id: Mapped[str | None] = mapped_column(String(64), default=None)

    thread: Mapped[Thread] = relationship(lazy="raise", back_populates="messages")


class BranchTurn(NamedTuple):
    """A message as a model is sent it: read without building an ORM object."""

    id: int
    role: str
    content: str
    content_parts: list[dict[str, Any]] | None
