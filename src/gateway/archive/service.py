"""Archive hand-off rules: which documents a selection takes, what each exported document's
record holds, the record of exports, and pruning behind tombstones.

Never commits (the caller owns the transaction). Pruning keeps the package row, its
deliveries, statuses and audit events; it empties `packages.raw` and writes a tombstone with
the hashes and the bundle that holds the bytes, and appends (never rewrites) audit events, so
`gateway audit verify` stays valid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from ..audit.models import AuditEvent
from ..audit.service import AuditLog
from ..auth.service import Principal
from ..db import VIETNAM, begin_write, show_time
from ..edxml import (
    BusinessDocType,
    DocumentPackage,
    EdxmlError,
    Priority,
    open_attachment,
    parse_package,
    real_file_name,
)
from ..edxml.filetypes import detect
from ..packages.models import ArchiveTombstone, Delivery, Package
from ..packages.service import PackageService
from ..settings import Settings
from .bundle import safe_file_name
from .circular_02 import circular_02_metadata
from .models import ArchiveExport

Role = Literal["any", "sender", "recipient"]
ARCHIVE_ACTOR = Principal(kind="operator", id="archive", name="archive", role="admin")
# a delivery in these states still needs the bytes: its package is not pruned
NEEDS_BYTES = ("pending", "failed")


class ArchiveError(Exception):
    """An export or prune that must stop; the message says why."""


@dataclass(frozen=True)
class Selection:
    """Documents to hand over: by agency (as sender, recipient or either), by the period of
    receipt (dates in Vietnam time, both ends included) and by document type (TypeName)."""

    agencies: tuple[str, ...] = ()
    role: Role = "any"
    start: date | None = None
    end: date | None = None
    document_types: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": list(self.agencies),
            "role": self.role,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "document_type": list(self.document_types),
        }


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), VIETNAM).astimezone(UTC)


@dataclass
class ExportedDocument:
    package_id: str
    raw: bytes
    sha256: str
    document_id: str | None
    code: str | None
    attachments: list[tuple[str, bytes]]
    metadata: dict[str, Any]


@dataclass
class PruneCandidate:
    package_id: str
    sha256: str
    size: int
    bundle_id: str
    bundle_sha256: str
    exported_at: datetime


@dataclass
class PruneReport:
    pruned: list[PruneCandidate] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (package id, why)
    freed_bytes: int = 0


class ArchiveService:
    def __init__(self, session: AsyncSession, settings: Settings):
        self.session = session
        self.settings = settings
        self.limits = settings.edxml_limits()

    # ------------------------------------------------------------------------ selection
    async def select(self, selection: Selection) -> tuple[list[str], list[str]]:
        """Ids of the selected documents in order of receipt, and those among them whose
        bytes were pruned already (they cannot be exported again)."""
        query = select(Package.id).where(Package.kind == "document")
        if selection.start:
            query = query.where(Package.received_at >= day_start(selection.start))
        if selection.end:
            query = query.where(Package.received_at < day_start(selection.end + timedelta(days=1)))
        if selection.document_types:
            query = query.where(Package.document_type.in_(selection.document_types))
        if selection.agencies:
            codes = list(selection.agencies)
            as_sender = Package.sender_code.in_(codes)
            as_recipient = exists().where(
                Delivery.package_id == Package.id,
                or_(Delivery.recipient_code.in_(codes), Delivery.addressed_to.in_(codes)),
            )
            query = query.where(
                {"sender": as_sender, "recipient": as_recipient}.get(
                    selection.role, or_(as_sender, as_recipient)
                )
            )
        ids = list((await self.session.scalars(query.order_by(Package.received_at,
                                                              Package.id))).all())  # fmt: skip
        pruned = set()
        if ids:
            pruned = set(
                (
                    await self.session.scalars(
                        select(ArchiveTombstone.package_id).where(
                            ArchiveTombstone.package_id.in_(ids)
                        )
                    )
                ).all()
            )
        return [i for i in ids if i not in pruned], [i for i in ids if i in pruned]

    # ------------------------------------------------------------------- one document
    async def document(self, package_id: str) -> ExportedDocument:
        package = await self.session.scalar(
            select(Package).where(Package.id == package_id).options(undefer(Package.raw))
        )
        if package is None:
            raise ArchiveError(f"package {package_id} does not exist")
        raw = package.raw
        if hashlib.sha256(raw).hexdigest() != package.sha256:
            raise ArchiveError(
                f"package {package_id}: the stored bytes do not match the SHA-256 recorded at "
                "intake; the export stops (investigate before handing anything over)"
            )
        parsed: DocumentPackage | None = None
        parse_error = None
        try:
            candidate = parse_package(raw, self.limits)
            if isinstance(candidate, DocumentPackage):
                parsed = candidate
        except EdxmlError as exc:
            parse_error = str(exc)
        attachments: list[tuple[str, bytes]] = []
        described: list[dict[str, Any]] = []
        taken: set[str] = set()
        for attachment in parsed.attachments if parsed else []:
            name = real_file_name(attachment)
            with open_attachment(attachment) as stream:
                data = stream.read()
            file_name = safe_file_name(name, taken)
            attachments.append((file_name, data))
            described.append(
                {
                    "file": f"attachments/{file_name}",
                    "name": name,
                    "content_id": attachment.content_id,
                    "description": attachment.description,
                    "content_type": attachment.content_type,
                    "format": detect(data, max_zip_entries=self.limits.max_zip_entries),
                    "transfer_sha256": hashlib.sha256(attachment.data).hexdigest(),
                }
            )
        metadata = await self._metadata(package, parsed, described)
        if parse_error:
            metadata["parse_error"] = parse_error
        return ExportedDocument(
            package.id, raw, package.sha256, package.document_id, package.code, attachments,
            metadata,
        )  # fmt: skip

    async def _metadata(
        self, package: Package, parsed: DocumentPackage | None, attachments: list[dict[str, Any]]
    ) -> dict[str, Any]:
        service = PackageService(
            self.session,
            limits=self.limits,
            calendar=self.settings.office_calendar(),
            node_code=self.settings.node_code,
        )
        timeline = await service.timeline(package.id, ARCHIVE_ACTOR)
        deliveries = [r.delivery_id for r in timeline.recipients]
        subjects = [f"package:{package.id}", *(f"delivery:{d}" for d in deliveries)]
        events = (
            await self.session.scalars(
                select(AuditEvent).where(AuditEvent.subject.in_(subjects)).order_by(AuditEvent.seq)
            )
        ).all()
        header = parsed.header if parsed else None
        recipients = header.recipients if header else []
        signer_info = header.signer_info.model_dump() if header and header.signer_info else None
        info = package.signature_info or {}
        record: dict[str, Any] = {
            "format": "gateway-archive-document/1",
            "package_id": package.id,
            "document_id": package.document_id,
            "code": package.code,
            "subject": package.subject,
            "document_type": {
                "name": package.document_type,
                "type": header.document_type.type if header else None,
                "type_detail": header.document_type.type_detail if header else None,
            },
            "promulgation": {
                "date": package.promulgation_date,
                "place": header.promulgation_info.place if header else None,
            },
            "due_date": header.due_date if header else None,
            "business_type": {
                "value": package.business_type,
                "label": _label(BusinessDocType, package.business_type),
            },
            "priority": {"value": package.priority, "label": _label(Priority, package.priority)},
            "sender": {
                "code": package.sender_code,
                "name": header.sender.organ_name if header else None,
            },
            "recipients": [{"code": r.organ_id, "name": r.organ_name} for r in recipients],
            "signer": info.get("signer"),
            "signer_info": signer_info,
            "signature_class": package.signature_class,
            "signature": info or None,
            "received_at": show_time(package.received_at),
            "legal_received_at": show_time(package.legal_received_at),
            "sha256": package.sha256,
            "size": package.size,
            "attachments": attachments,
            "timeline": timeline.model_dump(mode="json", by_alias=True),
            "audit_events": [
                {
                    "seq": e.seq,
                    "at": show_time(e.at),
                    "actor": e.actor,
                    "action": e.action,
                    "subject": e.subject,
                    "hash": e.hash,
                }
                for e in events
            ],
        }
        # the fields of Circular 02/2019/TT-BNV, and which of them edXML cannot fill
        record["tt02_2019"] = circular_02_metadata(package, header)
        return record

    # -------------------------------------------------------------------------- record
    async def record_export(
        self,
        *,
        bundle_id: str,
        bundle_sha256: str,
        bundle_name: str,
        packages: list[tuple[str, str]],
        selection: Selection,
        actor: str,
        at: datetime,
    ) -> None:
        await begin_write(self.session)
        self.session.add_all(
            ArchiveExport(
                bundle_id=bundle_id,
                package_id=package_id,
                bundle_sha256=bundle_sha256,
                bundle_name=bundle_name[:300],
                package_sha256=sha,
                exported_at=at,
                actor=actor,
            )
            for package_id, sha in packages
        )
        await self.session.flush()
        await AuditLog(self.session).append(
            "archive.exported",
            actor=actor,
            subject=f"bundle:{bundle_id}",
            at=at,
            data={
                "bundle_sha256": bundle_sha256,
                "bundle_name": bundle_name,
                "selection": selection.as_dict(),
                "packages": [{"id": p, "sha256": s} for p, s in packages],
            },
        )

    # --------------------------------------------------------------------------- prune
    async def prune_candidates(self, exported_before: datetime) -> list[PruneCandidate]:
        """Exported (before the date), not yet pruned, no copy still waiting for the bytes;
        the latest qualifying export of each package is the one named in the tombstone."""
        needs_bytes = exists().where(
            Delivery.package_id == ArchiveExport.package_id, Delivery.state.in_(NEEDS_BYTES)
        )
        pruned = exists().where(ArchiveTombstone.package_id == ArchiveExport.package_id)
        rows = (
            await self.session.execute(
                select(ArchiveExport, Package.sha256, Package.size)
                .join(Package, Package.id == ArchiveExport.package_id)
                .where(
                    ArchiveExport.exported_at < exported_before,
                    ArchiveExport.package_sha256 == Package.sha256,
                    ~pruned,
                    ~needs_bytes,
                )
                .order_by(ArchiveExport.package_id, ArchiveExport.exported_at.desc())
            )
        ).all()
        latest: dict[str, PruneCandidate] = {}
        for export, sha, size in rows:
            latest.setdefault(
                export.package_id,
                PruneCandidate(export.package_id, sha, size, export.bundle_id,
                               export.bundle_sha256, export.exported_at),
            )  # fmt: skip
        return list(latest.values())

    async def waiting(self, exported_before: datetime) -> list[str]:
        """Exported packages kept because a copy still needs the bytes (pending/failed)."""
        rows = await self.session.scalars(
            select(ArchiveExport.package_id)
            .distinct()
            .join(Delivery, Delivery.package_id == ArchiveExport.package_id)
            .where(
                ArchiveExport.exported_at < exported_before,
                Delivery.state.in_(NEEDS_BYTES),
                ~exists().where(ArchiveTombstone.package_id == ArchiveExport.package_id),
            )
        )
        return list(rows.all())

    async def prune(self, exported_before: datetime, *, actor: str, now: datetime) -> PruneReport:
        await begin_write(self.session)
        report = PruneReport()
        for c in await self.prune_candidates(exported_before):
            stored = await self.session.scalar(
                select(func.length(Package.raw)).where(Package.id == c.package_id)
            )
            if not stored:
                report.skipped.append((c.package_id, "no bytes stored"))
                continue
            self.session.add(
                ArchiveTombstone(
                    package_id=c.package_id,
                    sha256=c.sha256,
                    size=c.size,
                    bundle_id=c.bundle_id,
                    bundle_sha256=c.bundle_sha256,
                    exported_at=c.exported_at,
                    pruned_at=now,
                    actor=actor,
                )
            )
            await self.session.execute(
                update(Package).where(Package.id == c.package_id).values(raw=b"")
            )
            await AuditLog(self.session).append(
                "package.pruned",
                actor=actor,
                subject=f"package:{c.package_id}",
                at=now,
                data={
                    "sha256": c.sha256,
                    "size": c.size,
                    "bundle_id": c.bundle_id,
                    "bundle_sha256": c.bundle_sha256,
                    "exported_at": c.exported_at.isoformat(),
                },
            )
            report.pruned.append(c)
            report.freed_bytes += c.size
        for package_id in await self.waiting(exported_before):
            report.skipped.append((package_id, "a copy is still pending or failed"))
        return report


def _label(enum: Any, value: int | None) -> str | None:
    if value is None:
        return None
    try:
        return enum(value).label
    except ValueError:
        return None
