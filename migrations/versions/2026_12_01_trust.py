"""Agency signing identities: who may sign for an agency (issue 13, signer = sender).

Revision ID: 2026_12_01_trust
Revises: 2026_12_01_first
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_trust"
down_revision: str | None = "2026_12_01_first"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_signing_identities",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=500), nullable=True),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_agency_signing_identities_agency_code_agencies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_signing_identities")),
        sa.UniqueConstraint(
            "agency_code", "kind", "value", name=op.f("uq_agency_signing_identities_agency_code")
        ),
    )
    op.create_index(
        op.f("ix_agency_signing_identities_agency_code"),
        "agency_signing_identities",
        ["agency_code"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_agency_signing_identities_agency_code"), table_name="agency_signing_identities"
    )
    op.drop_table("agency_signing_identities")
