"""What a province runs on (issue 15): operators' office-calendar changes; agencies' test
endpoints (plain http allowed in production) and administrator contacts.

Revision ID: 2026_12_01_regulatory
Revises: 2026_11_21_0008
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_regulatory"
down_revision: str | None = "2026_11_21_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "calendar_changes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("first_day", sa.String(length=5), nullable=True),
        sa.Column("last_day", sa.String(length=5), nullable=True),
        sa.Column("periods", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "kind IN ('day_off', 'working_day', 'office_hours')",
            name=op.f("ck_calendar_changes_kind"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_changes")),
        sa.UniqueConstraint("day", name=op.f("uq_calendar_changes_day")),
    )


    with op.batch_alter_table("agencies") as batch:
        batch.add_column(
            sa.Column("test_endpoint", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("contact_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("contact_position", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("contact_email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        for column in (
            "contact_phone",
            "contact_email",
            "contact_position",
            "contact_name",
            "test_endpoint",
        ):
            batch.drop_column(column)
    op.drop_table("calendar_changes")
