"""VXP credentials get an operator policy: admin systems (registerAgency, deleteAgency), an
opt-in timestamp window, and a source-address allow-list (issue 12, issue 18 item 7).

Revision ID: 2026_12_01_sdk
Revises: 2026_11_21_0008
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_sdk"
down_revision: str | None = "2026_11_21_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("axis_vxp_credentials") as batch:
        batch.add_column(
            sa.Column("admin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("max_skew_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("allowed_sources", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("axis_vxp_credentials") as batch:
        batch.drop_column("allowed_sources")
        batch.drop_column("max_skew_seconds")
        batch.drop_column("admin")
