"""Operators' optional second factor for dashboard logins: the TOTP secret (sealed with the
gateway's secrets key) and the last time step used (a code works once).

Revision ID: 2026_12_01_first
Revises: 2026_12_01_statuses
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_first"
down_revision: str | None = "2026_12_01_statuses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("totp_secret_sealed", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret_sealed")
