"""Outage incidents: the durable health of each push target and the incidents raised when one
fails for longer than the threshold of working time.

Revision ID: 2026_11_21_0007
Revises: 2026_11_21_0006
Create Date: 2026-11-21 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_11_21_0007"
down_revision: str | None = "2026_11_21_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "endpoint_health",
        sa.Column("target", sa.String(length=35), nullable=False),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("recovered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_endpoint_health")),
    )
    op.create_table(
        "outage_incidents",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=35), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("working_seconds", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("affected", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('agency', 'upstream')", name=op.f("ck_outage_incidents_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_incidents")),
    )
    op.create_index(
        "ix_outage_incidents_target_closed", "outage_incidents", ["target", "closed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_outage_incidents_target_closed", table_name="outage_incidents")
    op.drop_table("outage_incidents")
    op.drop_table("endpoint_health")
