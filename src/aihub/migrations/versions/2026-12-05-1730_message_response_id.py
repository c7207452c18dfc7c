"""message response id: a stored /v1/responses answer's own id

A response's id no longer names database ids (``resp_<thread>_<message>_<token>``,
still read for the responses stored before): it is random and known before the
exchange is written (write-behind), so the answer keeps it in ``response_id``,
unique and indexed. Existing rows keep NULL.

Revision ID: 3f9c2d71a4e8
Revises: 77c6274a63db
Create Date: 2026-12-05 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f9c2d71a4e8"
down_revision: str | None = "77c6274a63db"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("response_id", sa.String(length=64), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_messages_response_id"), ["response_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_response_id"))
        batch_op.drop_column("response_id")
