"""Per copy, when it entered the recipient's system (push: the endpoint's 2xx; poll: the first
fetch, native or VXP getEdoc; or an acknowledgement without a fetch), how, and the legal
receipt time computed from it. Existing copies keep NULL (reports fall back to delivered_at).

Revision ID: 2026_12_01_statuses
Revises: 2026_12_01_audit_anchor
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_statuses"
down_revision: str | None = "2026_12_01_audit_anchor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("entered_via", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("entered_legal_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("entered_legal_at")
        batch.drop_column("entered_via")
        batch.drop_column("entered_at")
