"""Tables of credentials: API keys (systems and operators), client certificates, operators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, new_id, utcnow

ROLES = ("operator", "admin")


class Operator(Base):
    """A person running the gateway. `admin` may change the registry; `operator` may read."""

    __tablename__ = "operators"
    __table_args__ = (CheckConstraint("role IN ('operator', 'admin')", name="role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="operator")
    # scrypt$n$r$p$salt_b64$hash_b64, for the dashboard login (later); None = key-only account
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # optional second factor of dashboard logins (gateway.auth.totp): the base32 secret sealed
    # with the secrets key, and the last 30-second step accepted (each code works once)
    totp_secret_sealed: Mapped[str | None] = mapped_column(String(300))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)


class ApiKey(Base):
    """An API key of a system or an operator. Only the SHA-256 of the key is stored.

    Keys are `gw_` + 43 random URL-safe characters (256 bits), so a fast hash is enough; the
    first 12 characters (`prefix`) identify a key in listings and logs.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("(system_id IS NULL) <> (operator_id IS NULL)", name="one_owner"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    system_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("agency_systems.id", ondelete="CASCADE"), index=True
    )
    operator_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("operators.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ClientCertificate(Base):
    """A client-certificate identity of a system, as forwarded by the TLS-terminating proxy.

    `identity` is what the proxy puts in the configured header: the certificate's SHA-256
    fingerprint (hex, lower case, no colons) or its subject DN, compared exactly.
    """

    __tablename__ = "client_certificates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("agency_systems.id", ondelete="CASCADE"), index=True
    )
    identity: Mapped[str] = mapped_column(String(500), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthGeneration(Base):
    """One row (id 1) whose `value` every transaction that changes a credential bumps, so that
    each process can tell cheaply that its cached principals are stale (gateway.auth.cache)."""

    __tablename__ = "auth_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


from . import generation as _generation  # noqa: E402, F401 -- registers the bump listeners
