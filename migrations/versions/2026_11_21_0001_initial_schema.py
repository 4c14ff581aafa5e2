"""Initial schema: registry, credentials, packages, deliveries, statuses, outbox, audit.

Revision ID: 2026_11_21_0001
Revises: (none)
Create Date: 2026-11-21 14:04:59.365769
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2026_11_21_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("parent_code", sa.String(length=35), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("superseded_by", sa.String(length=35), nullable=True),
        sa.Column("delivery_mode", sa.String(length=8), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["agencies.code"],
            name=op.f("fk_agencies_parent_code_agencies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by"],
            ["agencies.code"],
            name=op.f("fk_agencies_superseded_by_agencies"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_agencies")),
    )
    op.create_index(op.f("ix_agencies_parent_code"), "agencies", ["parent_code"], unique=False)

    op.create_table(
        "agency_systems",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency_systems")),
        sa.UniqueConstraint("name", name=op.f("uq_agency_systems_name")),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"], unique=False)
    op.create_index(op.f("ix_audit_events_subject"), "audit_events", ["subject"], unique=False)

    op.create_table(
        "operators",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('operator', 'admin')", name=op.f("ck_operators_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("username", name=op.f("uq_operators_username")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=True),
        sa.Column("operator_id", sa.String(length=36), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(system_id IS NULL) <> (operator_id IS NULL)", name=op.f("ck_api_keys_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_api_keys_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["agency_systems.id"],
            name=op.f("fk_api_keys_system_id_agency_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_operator_id"), "api_keys", ["operator_id"], unique=False)
    op.create_index(op.f("ix_api_keys_prefix"), "api_keys", ["prefix"], unique=False)
    op.create_index(op.f("ix_api_keys_system_id"), "api_keys", ["system_id"], unique=False)

    op.create_table(
        "client_certificates",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("identity", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["agency_systems.id"],
            name=op.f("fk_client_certificates_system_id_agency_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_certificates")),
        sa.UniqueConstraint("identity", name=op.f("uq_client_certificates_identity")),
    )
    op.create_index(
        op.f("ix_client_certificates_system_id"), "client_certificates", ["system_id"], unique=False
    )

    op.create_table(
        "packages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("sender_code", sa.String(length=35), nullable=False),
        sa.Column("submitted_by_system_id", sa.String(length=36), nullable=True),
        sa.Column("document_id", sa.String(length=300), nullable=True),
        sa.Column("code", sa.String(length=120), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("business_type", sa.Integer(), nullable=True),
        sa.Column("promulgation_date", sa.String(length=20), nullable=True),
        sa.Column("document_type", sa.String(length=120), nullable=True),
        sa.Column("status_code", sa.String(length=4), nullable=True),
        sa.Column("status_timestamp", sa.String(length=30), nullable=True),
        sa.Column("response_for_organ", sa.String(length=35), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.Column("intake_result", sa.JSON(), nullable=True),
        sa.Column("signature_class", sa.String(length=40), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legal_received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('document', 'status')", name=op.f("ck_packages_kind")),
        sa.ForeignKeyConstraint(
            ["sender_code"], ["agencies.code"], name=op.f("fk_packages_sender_code_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_system_id"],
            ["agency_systems.id"],
            name=op.f("fk_packages_submitted_by_system_id_agency_systems"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_packages")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_packages_idempotency_key")),
    )
    op.create_index(op.f("ix_packages_document_id"), "packages", ["document_id"], unique=False)
    op.create_index(
        "ix_packages_sender_received", "packages", ["sender_code", "received_at"], unique=False
    )

    op.create_table(
        "system_agencies",
        sa.Column("system_id", sa.String(length=36), nullable=False),
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
            name=op.f("fk_system_agencies_agency_code_agencies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["system_id"],
            ["agency_systems.id"],
            name=op.f("fk_system_agencies_system_id_agency_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", "agency_code", name=op.f("pk_system_agencies")),
    )
    op.create_index(
        op.f("ix_system_agencies_agency_code"), "system_agencies", ["agency_code"], unique=False
    )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_code", sa.String(length=35), nullable=False),
        sa.Column("addressed_to", sa.String(length=35), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("legal_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'acknowledged', 'failed', 'cancelled')",
            name=op.f("ck_deliveries_state"),
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_deliveries_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_code"],
            ["agencies.code"],
            name=op.f("fk_deliveries_recipient_code_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("package_id", "recipient_code", name="uq_deliveries_package_recipient"),
    )
    op.create_index(
        "ix_deliveries_inbox", "deliveries", ["recipient_code", "state", "queued_at"], unique=False
    )

    op.create_table(
        "document_references",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("package_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=300), nullable=False),
        sa.Column("original_package_id", sa.String(length=36), nullable=True),
        sa.Column("business_type", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["original_package_id"],
            ["packages.id"],
            name=op.f("fk_document_references_original_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["package_id"],
            ["packages.id"],
            name=op.f("fk_document_references_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_references")),
        sa.UniqueConstraint("package_id", "document_id", name="uq_document_references_package_doc"),
    )
    op.create_index(
        op.f("ix_document_references_original_package_id"),
        "document_references",
        ["original_package_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_document_references_package_id"),
        "document_references",
        ["package_id"],
        unique=False,
    )

    op.create_table(
        "business_statuses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("status_package_id", sa.String(length=36), nullable=False),
        sa.Column("original_package_id", sa.String(length=36), nullable=True),
        sa.Column("delivery_id", sa.String(length=36), nullable=True),
        sa.Column("sender_code", sa.String(length=35), nullable=False),
        sa.Column("agency_code", sa.String(length=35), nullable=True),
        sa.Column("status_code", sa.String(length=4), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("timestamp", sa.String(length=30), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_business_statuses_delivery_id_deliveries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["original_package_id"],
            ["packages.id"],
            name=op.f("fk_business_statuses_original_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_package_id"],
            ["packages.id"],
            name=op.f("fk_business_statuses_status_package_id_packages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_statuses")),
    )
    op.create_index(
        op.f("ix_business_statuses_delivery_id"), "business_statuses", ["delivery_id"], unique=False
    )
    op.create_index(
        op.f("ix_business_statuses_original_package_id"),
        "business_statuses",
        ["original_package_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_business_statuses_status_package_id"),
        "business_statuses",
        ["status_package_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_business_statuses_status_package_id"), table_name="business_statuses")
    op.drop_index(op.f("ix_business_statuses_original_package_id"), table_name="business_statuses")
    op.drop_index(op.f("ix_business_statuses_delivery_id"), table_name="business_statuses")

    op.drop_table("business_statuses")
    op.drop_index(op.f("ix_document_references_package_id"), table_name="document_references")
    op.drop_index(
        op.f("ix_document_references_original_package_id"), table_name="document_references"
    )

    op.drop_table("document_references")
    op.drop_index("ix_deliveries_inbox", table_name="deliveries")

    op.drop_table("deliveries")
    op.drop_index(op.f("ix_system_agencies_agency_code"), table_name="system_agencies")

    op.drop_table("system_agencies")
    op.drop_index("ix_packages_sender_received", table_name="packages")
    op.drop_index(op.f("ix_packages_document_id"), table_name="packages")

    op.drop_table("packages")
    op.drop_index(op.f("ix_client_certificates_system_id"), table_name="client_certificates")

    op.drop_table("client_certificates")
    op.drop_index(op.f("ix_api_keys_system_id"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_prefix"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_operator_id"), table_name="api_keys")

    op.drop_table("api_keys")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")

    op.drop_table("outbox")
    op.drop_table("operators")
    op.drop_index(op.f("ix_audit_events_subject"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_action"), table_name="audit_events")

    op.drop_table("audit_events")
    op.drop_table("agency_systems")
    op.drop_index(op.f("ix_agencies_parent_code"), table_name="agencies")

    op.drop_table("agencies")
