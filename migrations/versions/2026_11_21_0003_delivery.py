"""Delivery: push secrets, retry rounds, the embedded database queue, notices to senders.

Revision ID: 2026_11_21_0003
Revises: 2026_11_21_0002
Create Date: 2026-11-21 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_11_21_0003"
down_revision: str | None = "2026_11_21_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("push_secret_sealed", sa.Text(), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("retry_from", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "queued_jobs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("urgent", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("handler_errors", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("dead_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queued_jobs")),
    )
    op.create_index("ix_queued_jobs_claim", "queued_jobs", ["state", "available_at"])
    op.create_index(op.f("ix_queued_jobs_delivery_id"), "queued_jobs", ["delivery_id"])

    op.create_table(
        "notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"], ["agencies.code"], name=op.f("fk_notices_agency_code_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_notices_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_notices_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index("ix_notices_agency_created", "notices", ["agency_code", "created_at"])
    op.create_index(op.f("ix_notices_package_id"), "notices", ["package_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notices_package_id"), table_name="notices")
    op.drop_index("ix_notices_agency_created", table_name="notices")
    op.drop_table("notices")
    op.drop_index(op.f("ix_queued_jobs_delivery_id"), table_name="queued_jobs")
    op.drop_index("ix_queued_jobs_claim", table_name="queued_jobs")
    op.drop_table("queued_jobs")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("retry_from")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("push_secret_sealed")
