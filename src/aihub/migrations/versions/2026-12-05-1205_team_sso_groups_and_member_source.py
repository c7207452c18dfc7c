"""team sso groups and member source: SSO groups map to teams

Teams name the SSO groups whose people belong to them (``sso_groups``) or own
them (``sso_owner_groups``); a membership records whether single sign-on made
it (``sso``) or a person did (``manual``, every existing one).

Revision ID: 77c6274a63db
Revises: 7a3e51c0b9d2
Create Date: 2026-12-05 12:05:09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "77c6274a63db"
down_revision: str | None = "7a3e51c0b9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source", sa.String(length=8), server_default="manual", nullable=False
            )
        )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sso_groups", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "sso_owner_groups", sa.JSON(), server_default="[]", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("sso_owner_groups")
        batch_op.drop_column("sso_groups")
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_column("source")
