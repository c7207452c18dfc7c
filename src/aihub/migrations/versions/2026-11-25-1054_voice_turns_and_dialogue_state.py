"""voice turns and dialogue state

Revision ID: 1c80627149fd
Revises: 1e7dadee51df
Create Date: 2026-11-25 10:54:53.637137
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "1c80627149fd"
down_revision: str | None = "1e7dadee51df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_turns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("turn_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("input_kind", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_stage", sa.String(length=8), nullable=True),
        sa.Column("endpoint_ms", sa.Float(), nullable=True),
        sa.Column("stt_final_ms", sa.Float(), nullable=True),
        sa.Column("llm_first_token_ms", sa.Float(), nullable=True),
        sa.Column("tts_first_audio_ms", sa.Float(), nullable=True),
        sa.Column("response_ms", sa.Float(), nullable=True),
        sa.Column("overhead_ms", sa.Float(), nullable=True),
        sa.Column("barge_in_ms", sa.Float(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_voice_turns_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["voice_sessions.id"],
            name=op.f("fk_voice_turns_session_id_voice_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_voice_turns_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_turns")),
    )
    with op.batch_alter_table("voice_turns", schema=None) as batch_op:
        batch_op.create_index("ix_voice_turns_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_voice_turns_session_id_turn_id",
            ["session_id", "turn_id"],
            unique=False,
        )
    with op.batch_alter_table("voice_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dialogue_state", sa.JSON(), nullable=False, server_default="{}")
        )
        batch_op.add_column(
            sa.Column("turn_count", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("voice_sessions", schema=None) as batch_op:
        batch_op.drop_column("turn_count")
        batch_op.drop_column("dialogue_state")
    with op.batch_alter_table("voice_turns", schema=None) as batch_op:
        batch_op.drop_index("ix_voice_turns_session_id_turn_id")
        batch_op.drop_index("ix_voice_turns_created_at")
    op.drop_table("voice_turns")
