"""hostile mail: sender authentication verdict and claimed case on cases, per-sender reopens,
the quota index on messages

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_auth", sa.String(length=10), nullable=False,
                                      server_default=""))
        batch_op.add_column(sa.Column("claims_case_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_from_received", ["from_addr", "received_at"],
                              unique=False)
    op.create_table(
        "reopens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reopens", schema=None) as batch_op:
        batch_op.create_index("ix_reopens_case_sender", ["case_id", "sender"], unique=False)


def downgrade() -> None:
    op.drop_table("reopens")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_from_received")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("claims_case_id")
        batch_op.drop_column("sender_auth")
