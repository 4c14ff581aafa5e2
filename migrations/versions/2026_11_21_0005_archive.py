"""Archive hand-off: exported packages per bundle, tombstones of pruned packages.

Revision ID: 2026_11_21_0005
Revises: 2026_11_21_0004
Create Date: 2026-11-21 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_11_21_0005"
down_revision: str | None = "2026_11_21_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_exports",
        sa.Column("bundle_id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=False),
        sa.Column("bundle_name", sa.String(length=300), nullable=False),
        sa.Column("package_sha256", sa.String(length=64), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_archive_exports_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bundle_id", "package_id", name=op.f("pk_archive_exports")),
    )
    op.create_index(op.f("ix_archive_exports_package_id"), "archive_exports", ["package_id"])
    op.create_index(op.f("ix_archive_exports_exported_at"), "archive_exports", ["exported_at"])
    op.create_table(
        "archive_tombstones",
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("bundle_id", sa.String(length=36), nullable=False),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_archive_tombstones_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("package_id", name=op.f("pk_archive_tombstones")),
    )


def downgrade() -> None:
    op.drop_table("archive_tombstones")
    op.drop_index(op.f("ix_archive_exports_exported_at"), table_name="archive_exports")
    op.drop_index(op.f("ix_archive_exports_package_id"), table_name="archive_exports")
    op.drop_table("archive_exports")
