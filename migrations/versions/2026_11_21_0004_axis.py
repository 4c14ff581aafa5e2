"""National axis (VXP): SDK client credentials, upstream forwarding queue, upstream receipts,
receipt reports.

Revision ID: 2026_11_21_0004
Revises: 2026_11_21_0003
Create Date: 2026-11-21 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_11_21_0004"
down_revision: str | None = "2026_11_21_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "axis_vxp_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("vxp_system_id", sa.String(length=100), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["agency_systems.id"],
            name=op.f("fk_axis_vxp_credentials_system_id_agency_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_vxp_credentials")),
        sa.UniqueConstraint("system_id", name=op.f("uq_axis_vxp_credentials_system_id")),
        sa.UniqueConstraint("vxp_system_id", name=op.f("uq_axis_vxp_credentials_vxp_system_id")),
    )
    op.create_table(
        "axis_upstream_forwards",
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_code", sa.String(length=35), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("upstream_doc_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_axis_upstream_forwards_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_axis_upstream_forwards_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_axis_upstream_forwards")),
    )
    op.create_index(
        "ix_axis_upstream_forwards_due", "axis_upstream_forwards", ["state", "next_attempt_at"]
    )
    op.create_index(
        op.f("ix_axis_upstream_forwards_package_id"), "axis_upstream_forwards", ["package_id"]
    )
    op.create_table(
        "axis_upstream_receipts",
        sa.Column("upstream_doc_id", sa.String(length=200), nullable=False),
        sa.Column("message_type", sa.String(length=10), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_axis_upstream_receipts_package_id_packages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("upstream_doc_id", name=op.f("pk_axis_upstream_receipts")),
    )
    op.create_index(
        op.f("ix_axis_upstream_receipts_package_id"), "axis_upstream_receipts", ["package_id"]
    )
    op.create_table(
        "axis_receipt_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_axis_receipt_reports_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["agency_systems.id"],
            name=op.f("fk_axis_receipt_reports_system_id_agency_systems"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axis_receipt_reports")),
    )
    op.create_index(
        op.f("ix_axis_receipt_reports_delivery_id"), "axis_receipt_reports", ["delivery_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_axis_receipt_reports_delivery_id"), table_name="axis_receipt_reports")
    op.drop_table("axis_receipt_reports")
    op.drop_index(op.f("ix_axis_upstream_receipts_package_id"), table_name="axis_upstream_receipts")
    op.drop_table("axis_upstream_receipts")
    op.drop_index(op.f("ix_axis_upstream_forwards_package_id"), table_name="axis_upstream_forwards")
    op.drop_index("ix_axis_upstream_forwards_due", table_name="axis_upstream_forwards")
    op.drop_table("axis_upstream_forwards")
    op.drop_table("axis_vxp_credentials")
