"""The relay wakes on commit (issue 14): on PostgreSQL a statement-level trigger on `outbox`
issues NOTIFY gateway_outbox in the transaction that writes the rows, so the relay's LISTEN
hears it exactly when they commit (never before, never for a rollback) and whoever writes
outbox rows (intake, a resend, an outage drain, a notice) needs no extra round trip.
Nothing on SQLite: there the relay is woken in process (gateway.delivery.wake).

Revision ID: 2026_12_02_hot_delivery
Revises: 2026_12_02_regulatory2
Create Date: 2026-12-02 00:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "2026_12_02_hot_delivery"
down_revision: str | None = "2026_12_02_regulatory2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the channel name is gateway.delivery.wake.CHANNEL (not imported: a migration stays as written)
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION gateway_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gateway_outbox', '');
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(NOTIFY_FUNCTION)
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION gateway_outbox_notify()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS gateway_outbox_notify()")
