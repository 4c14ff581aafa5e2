"""Signed checkpoints of the audit chain (gateway.audit.checkpoints).

Revision ID: 2026_12_01_audit_anchor
Revises: 2026_12_01_sdk
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_audit_anchor"
down_revision: str | None = "2026_12_01_sdk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("n", BigId, autoincrement=False, nullable=False),
        sa.Column("chain_pos", BigId, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("prev_mac", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("n", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("chain_pos", name=op.f("uq_audit_checkpoints_chain_pos")),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
