"""The credentials' generation counter (issue 14): one row, bumped by every transaction that
changes an API key, client certificate, system, operator or VXP credential; each process reads
it at most every `auth_cache_check_seconds` to drop the principals it cached
(gateway.auth.cache).

Revision ID: 2026_12_02_hot_intake
Revises: 2026_12_01_regulatory
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_02_hot_intake"
down_revision: str | None = "2026_12_01_regulatory"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "auth_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("auth_generation")
