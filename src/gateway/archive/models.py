"""The table of the archive hand-off: what was exported in which bundle. The tombstones of
packages whose bytes were pruned after export are gateway.packages.models.ArchiveTombstone:
intake answers 410 Gone from them, and intake sits below the archive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
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
