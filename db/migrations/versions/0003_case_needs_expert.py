"""cases: needs_expert flag and reason (a question part no source answers)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("needs_expert", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("expert_reason", sa.Text(), nullable=False,
                                   server_default=""))
        batch.create_index("ix_cases_needs_expert", ["needs_expert"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_needs_expert")
        batch.drop_column("expert_reason")
        batch.drop_column("needs_expert")
