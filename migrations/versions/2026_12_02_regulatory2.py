"""Outage incidents of two more kinds (issue 15): `inbox` (a poll-mode agency not collecting
its inbox) and `gateway` (the gateway's own downtime, recorded on restart). The downtimes kept
so far in `gateway_downtimes` become closed `gateway` incidents; that table goes.

On SQLite a CHECK constraint changes only by copying the table, and dropping the old
`outage_incidents` would cascade-delete its `outage_emails` (foreign keys are on): the e-mails
are kept aside in a temporary table over the copy and put back.

Revision ID: 2026_12_02_regulatory2
Revises: 2026_12_02_hot_intake
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_12_02_regulatory2"
down_revision: str | None = "2026_12_02_hot_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_KINDS = "kind IN ('agency', 'upstream')"
NEW_KINDS = "kind IN ('agency', 'upstream', 'inbox', 'gateway')"
CHECK = "ck_outage_incidents_kind"


def _set_kinds(condition: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f(CHECK), "outage_incidents", type_="check")
        op.create_check_constraint(op.f(CHECK), "outage_incidents", condition)
        return
    op.execute("CREATE TEMP TABLE keep_outage_emails AS SELECT * FROM outage_emails")
    with op.batch_alter_table("outage_incidents", recreate="always") as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
        batch.create_check_constraint(op.f(CHECK), condition)
    op.execute(
        "INSERT INTO outage_emails SELECT * FROM keep_outage_emails "
        "WHERE id NOT IN (SELECT id FROM outage_emails)"
    )
    op.execute("DROP TABLE keep_outage_emails")


def _downtimes_table() -> sa.Table:
    return op.create_table(
        "gateway_downtimes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("working_seconds", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_downtimes")),
    )


def upgrade() -> None:
    _set_kinds(NEW_KINDS)
    op.execute(
        "INSERT INTO outage_incidents (kind, target, started_at, opened_at, closed_at, "
        "duration_seconds, working_seconds, last_error, affected) "
        "SELECT 'gateway', 'gateway', started_at, ended_at, ended_at, duration_seconds, "
        "working_seconds, 'không có tiến trình máy chủ nào chạy (khởi động lại: ' "
        "|| recorded_by || ')', 0 FROM gateway_downtimes ORDER BY id"
    )
    op.drop_table("gateway_downtimes")


def downgrade() -> None:
    _downtimes_table()
    op.execute(
        "INSERT INTO gateway_downtimes (started_at, ended_at, duration_seconds, "
        "working_seconds, recorded_by) "
        "SELECT started_at, closed_at, duration_seconds, working_seconds, 'migrated' "
        "FROM outage_incidents WHERE kind = 'gateway' ORDER BY id"
    )
    # the old schema has no place for these kinds (their e-mails go with them)
    op.execute("DELETE FROM outage_incidents WHERE kind IN ('inbox', 'gateway')")
    _set_kinds(OLD_KINDS)
