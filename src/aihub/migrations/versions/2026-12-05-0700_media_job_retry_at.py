"""media job retry_at: a failed attempt waits its backoff before the next

Revision ID: 5b0c7e2a91d4
Revises: d3c3699859fd
Create Date: 2026-12-05 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0c7e2a91d4"
down_revision: str | None = "d3c3699859fd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media_jobs") as batch:
        batch.add_column(
            sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("media_jobs") as batch:
        batch.drop_column("retry_at")
