"""Credentials in a push endpoint_url are sealed (`agencies.endpoint_url_sealed`).
Agency codes are unique regardless of case (`000.00.00.h41` cannot sit beside
`000.00.00.H41`): a unique index on lower(code), on both backends. Fails if such pairs exist
already; merge them first (`gateway agencies` / the admin API).

Revision ID: 2026_12_01_surface
Revises: 2026_12_01_trust
Create Date: 2026-12-01 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_surface"
down_revision: str | None = "2026_12_01_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("endpoint_url_sealed", sa.Text(), nullable=True))
    op.create_index("uq_agencies_code_ci", "agencies", [sa.text("lower(code)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_agencies_code_ci", table_name="agencies")
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("endpoint_url_sealed")
