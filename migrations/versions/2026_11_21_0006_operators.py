"""Operators' dashboard: login sessions and attempts; paper flag and request id on packages;
indexes for the dashboard's backlog and per-day queries.

Revision ID: 2026_11_21_0006
Revises: 2026_11_21_0005
Create Date: 2026-11-21 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_11_21_0006"
down_revision: str | None = "2026_11_21_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_sessions_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
    )
    op.create_index(op.f("ix_operator_sessions_operator_id"), "operator_sessions", ["operator_id"])
    op.create_index(op.f("ix_operator_sessions_expires_at"), "operator_sessions", ["expires_at"])
    op.create_table(
        "login_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index("ix_login_attempts_username_at", "login_attempts", ["username", "at"])
    with op.batch_alter_table("packages") as batch:
        batch.add_column(sa.Column("paper", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
    op.create_index("ix_packages_received_at", "packages", ["received_at"])
    op.create_index("ix_deliveries_state_queued", "deliveries", ["state", "queued_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_state_queued", table_name="deliveries")
    op.drop_index("ix_packages_received_at", table_name="packages")
    with op.batch_alter_table("packages") as batch:
        batch.drop_column("request_id")
        batch.drop_column("paper")
    op.drop_index("ix_login_attempts_username_at", table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_operator_sessions_expires_at"), table_name="operator_sessions")
    op.drop_index(op.f("ix_operator_sessions_operator_id"), table_name="operator_sessions")
    op.drop_table("operator_sessions")
