"""What a province runs on (issue 15): operators' office-calendar changes; agencies' test
endpoints (plain http allowed in production) and administrator contacts; outage e-mails;
documents handled on paper; the gateway's heartbeats and own downtimes.

Revision ID: 2026_12_01_regulatory
Revises: 2026_12_01_surface
Create Date: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_01_regulatory"
down_revision: str | None = "2026_12_01_surface"
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


    op.create_table(
        "outage_emails",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", BigId, nullable=False),
        sa.Column("event", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["outage_incidents.id"],
            name=op.f("fk_outage_emails_incident_id_outage_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outage_emails")),
    )
    op.create_index("ix_outage_emails_state", "outage_emails", ["state", "id"])
    op.create_table(
        "paper_handlings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("handled_on", sa.Date(), nullable=False),
        sa.Column("handled_by", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconciled_by", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_paper_handlings_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_handlings")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_paper_handlings_delivery_id")),
    )
    op.create_table(
        "gateway_heartbeats",
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_gateway_heartbeats")),
    )
    op.create_table(
        "gateway_downtimes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("working_seconds", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_downtimes")),
    )
    # Plain ADD COLUMN, not a batch: on SQLite a batch may copy the table, and the copy would
    # lose the expression index uq_agencies_code_ci (lower(code)), which SQLite cannot reflect.
    op.add_column(
        "agencies",
        sa.Column("test_endpoint", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("agencies", sa.Column("contact_name", sa.String(length=200), nullable=True))
    op.add_column("agencies", sa.Column("contact_position", sa.String(length=200), nullable=True))
    op.add_column("agencies", sa.Column("contact_email", sa.String(length=320), nullable=True))
    op.add_column("agencies", sa.Column("contact_phone", sa.String(length=40), nullable=True))


def downgrade() -> None:
    # SQLite drops columns by copying the table, which would lose the expression index: take
    # it off first and put it back on the copy
    op.drop_index("uq_agencies_code_ci", table_name="agencies")
    with op.batch_alter_table("agencies") as batch:
        for column in (
            "contact_phone",
            "contact_email",
            "contact_position",
            "contact_name",
            "test_endpoint",
        ):
            batch.drop_column(column)
    op.create_index("uq_agencies_code_ci", "agencies", [sa.text("lower(code)")], unique=True)
    op.drop_table("gateway_downtimes")
    op.drop_table("gateway_heartbeats")
    op.drop_table("paper_handlings")
    op.drop_index("ix_outage_emails_state", table_name="outage_emails")
    op.drop_table("outage_emails")
    op.drop_table("calendar_changes")
