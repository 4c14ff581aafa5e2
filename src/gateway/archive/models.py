"""Tables of the archive hand-off: what was exported in which bundle, and the tombstones of
packages whose bytes were pruned after export."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime


class ArchiveExport(Base):
    """One package exported in one bundle (a package may be exported in several bundles).

    `bundle_sha256` is the SHA-256 of the whole bundle file as handed over: the archive can
    quote it back to prove which bundle it holds."""

    __tablename__ = "archive_exports"

    bundle_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    bundle_name: Mapped[str] = mapped_column(String(300))
    package_sha256: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))


class ArchiveTombstone(Base):
    """What stays of a package whose raw bytes were pruned after export: the hashes, and the
    bundle that holds the bytes. The package row, its deliveries, statuses and audit events
    stay; GET /packages/{id} answers 410 Gone."""

    __tablename__ = "archive_tombstones"

    package_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("packages.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    bundle_id: Mapped[str] = mapped_column(String(36))
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pruned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
