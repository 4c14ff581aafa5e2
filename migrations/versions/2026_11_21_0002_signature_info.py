"""Signature details on packages: reference-only flag, reason, signer.

Revision ID: 2026_11_21_0002
Revises: 2026_11_21_0001
Create Date: 2026-11-21 14:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_11_21_0002"
down_revision: str | None = "2026_11_21_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("packages") as batch:
        batch.add_column(sa.Column("signature_info", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("packages") as batch:
        batch.drop_column("signature_info")
