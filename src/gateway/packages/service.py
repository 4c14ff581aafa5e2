"""Rules of intake, delivery and timelines. Never commits: the request owns the transaction.

Intake of one package (`PackageService.intake`), in order:

1. `_validated` (gateway.edxml) — 400 MALFORMED_XML when the bytes are not well-formed XML,
   413 when too large, 422 VALIDATION_FAILED with every finding otherwise;
2. `_authorise` — the calling system must be bound to the package's From OrganId (403);
3. the signature seam — `SignatureCheck` may reject (raise a GatewayError, 4xx) or return a
   signature class stored in `packages.signature_class` (None until gateway.trust plugs in);
4. idempotency (`_identity`) — the same (From, DocumentId, BussinessDocType) (status: From,
   ResponseFor DocumentId, StatusCode, Timestamp) returns the first answer;
5. `_plan` — every recipient must be in the registry (422 RECIPIENT_UNKNOWN listing all
   unknown codes); an inactive agency is replaced by its successor (chain followed, cycles
   refused); one registry lookup also says how each recipient takes its copies;
6. store, in the caller's single transaction, a statement per table (gateway.packages.
   intake_store): the package (raw bytes untouched; `ON CONFLICT` answers a concurrent
   duplicate), one delivery per recipient, an outbox row only for the copies a transport
   carries (push; a poll copy is in the inbox at once, upstream ones go through gateway.axis),
   document references / business status, and the audit events (`_audit`, one INSERT).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditEntry, AuditLog
from ..auth.service import Principal
from ..calendar import OfficeCalendar
from ..db import begin_write, new_id, utcnow
from ..edxml import (
    BusinessDocType,
    DocumentPackage,
    FindingCode,
    Limits,
    ReadXml,
    StatusCode,
    StatusPackage,
    parse_timestamp,
    relay_bytes,
    trace_value,
    validate_package,
)
from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    MalformedXml,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
)
from ..observability.logging import current_request_id
from ..registry.service import RegistryService, Route
from . import intake_store, poll_store
from .arrival import EnteredVia
from .exclusions import refuse_excluded
from .models import BusinessStatus, Delivery, DocumentReference, Package
from .notices import queue_ack_notice
from .repository import PackageRepository
from .schemas import (
    AckResult,
    DeliveryRef,
    InboxItem,
    InboxPage,
    IntakeResult,
    PackageSummary,
    RecipientTimeline,
    ReferenceOut,
    RelatedPackage,
    Reroute,
    StatusOut,
    Timeline,
)
from .status_rules import StatusDecision, StatusRules

# -------------------------------------------------------------------- signature seam


@dataclass(frozen=True)
class SignatureVerdict:
    """What the signature step says about an accepted package."""

    signature_class: str  # signed-valid | unsigned | placeholder (invalid never gets here)
    reference_only: bool  # not legally binding: unsigned or placeholder under a `warn` policy
    details: dict[str, Any]  # class, reason, signer (subject, serial, issuer, validity)


SignatureCheck = Callable[
    [DocumentPackage | StatusPackage, bytes, ReadXml | None], Awaitable[SignatureVerdict | None]
]
"""Called between validation and storage with the package, its bytes and the tree validation
read it from (so the signature is checked on what was validated, without parsing again).
Returns the verdict to record, or raises a GatewayError (4xx) to refuse the package.
See gateway.packages.signatures."""


async def no_signature_check(
    _package: DocumentPackage | StatusPackage, _raw: bytes, _tree: ReadXml | None = None
) -> None:
    """For tests and tools that build the app without the trust step: nothing recorded."""
    return None


# ----------------------------------------------------------------- routing seam


class Routing(Protocol):
    """Recipients reached through the national axis (implemented by gateway.axis.routing)."""

    async def resolve(
        self, registry: RegistryService, codes: list[str]
    ) -> tuple[list[Route], set[str]]:
        """Like RegistryService.resolve, plus the set of final codes that go upstream."""
        ...

    async def stored(
        self, session: AsyncSession, package: Package, deliveries: list[Delivery], now: datetime
    ) -> None:
        """The upstream deliveries of a stored package (same transaction)."""
        ...

    async def annotate(self, session: AsyncSession, timeline: Timeline) -> None:
        """Add what the national axis said (upstream DocIds) to a timeline."""
        ...


# ------------------------------------------------------------------------ helpers

_MALFORMED = {
    FindingCode.XML_EMPTY,
    FindingCode.XML_JUNK_BEFORE_PROLOG,
    FindingCode.XML_ENCODING,
    FindingCode.XML_DOCTYPE_FORBIDDEN,
    FindingCode.XML_TOO_DEEP,
    FindingCode.XML_MALFORMED,
}


def idempotency_key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def business_label(value: int | None) -> str:
    if value is None:
        return ""
    try:
        return BusinessDocType(value).label
    except ValueError:
        return str(value)


def status_label(code: str) -> str | None:
    try:
        return StatusCode(code).label
    except ValueError:
        return None


def encode_cursor(at: datetime, delivery_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{delivery_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, _, delivery_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or not delivery_id:
            raise ValueError(cursor)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("cursor không hợp lệ", en="Invalid cursor") from None
    return moment, delivery_id


@dataclass(frozen=True)
class Fetched:
    """What GET /packages/{id} answers: the bytes as the recipient must receive them."""

    package_id: str
    data: bytes
    delivery_ids: list[str]
    trace: str | None = None  # this hop, for the X-Gateway-Trace header (edxml.trace)


def _without_file_bytes(
    package: DocumentPackage | StatusPackage,
) -> DocumentPackage | StatusPackage:
    """The package for the steps after the signature checks, which never read the files: a
    copy without its attachments, so their decoded bytes are let go (the caller drops the
    original)."""
    if isinstance(package, DocumentPackage) and package.attachments:
        return package.model_copy(update={"attachments": []})
    return package


def _identity(package: DocumentPackage | StatusPackage, sha: str) -> str:
    """4. The idempotency key: documents by (From, DocumentId, BussinessDocType), statuses by
    (From, ResponseFor/DocumentId, StatusCode, Timestamp)."""
    if isinstance(package, StatusPackage):
        rf = package.response_for
        return idempotency_key(
            "status", package.sender_id, rf.document_id, package.status_code, package.timestamp
        )
    return idempotency_key(
        "document", package.sender_id, package.document_id or sha, int(package.business_type)
    )


def _replay(first: Any, sha: str) -> IntakeResult:
    """The first submission's answer, for a duplicate (`first`: sha256, intake_result)."""
    result = IntakeResult.model_validate(first.intake_result or {})
    return result.model_copy(update={"duplicate": True, "same_content": first.sha256 == sha})


def _pushed(route: Route) -> bool:
    """A copy a push transport carries (the agency's endpoint); others wait in the inbox or go
    upstream. (A push agency without an endpoint is polled, as the delivery handler does.)"""
    agency = route.agency
    return agency is not None and agency.delivery_mode == "push" and bool(agency.endpoint_url)


@dataclass
class _Plan:
    """What intake decided before writing: the package row, where its copies go, links."""

    row: Package
    routes: list[Route]
    remote: set[str]  # final codes reached through the national axis
    now: datetime
    legal: datetime
    warnings: list[dict[str, Any]]
    link: StatusDecision | None = None  # a status package: what it is about
    originals: dict[str, Package | None] = field(default_factory=dict)  # revoke/update/replace


class PackageService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        limits: Limits,
        calendar: OfficeCalendar,
        node_code: str,
        signature_check: SignatureCheck = no_signature_check,
        clock: Callable[[], datetime] = utcnow,
        routing: Routing | None = None,
    ):
        self.session = session
        self.repo = PackageRepository(session)
        self.limits = limits
        self.calendar = calendar
        self.node_code = node_code
        self.signature_check = signature_check
        self.clock = clock
        self.audit = AuditLog(session)
        self.routing = routing

    # ========================================================================= intake

    async def intake(self, raw: bytes, principal: Principal) -> IntakeResult:
        """Take one package in: the steps of the module docstring, in that order."""
        package, warnings, tree = await self._validated(raw, principal)
        self._authorise(package, principal)
        verdict = await self.signature_check(package, raw, tree)  # gateway.packages.signatures
        del tree  # the tree and its payload texts (about the package's size) go now
        # the decoded files too (3/4 of the size): only the checks above read them, and the
        # database write below makes a copy of `raw` while it runs
        package = _without_file_bytes(package)
        # the unit of work starts here, after the CPU-bound checks (SQLite: take the write turn)
        await begin_write(self.session)
        sha = hashlib.sha256(raw).hexdigest()
        key = _identity(package, sha)
        if (first := await intake_store.first_answer(self.session, key)) is not None:
            return _replay(first, sha)
        plan = await self._plan(package, key, warnings, principal)
        row = self._package_row(plan, raw, sha, principal, verdict)
        deliveries = self._deliveries(row, plan.routes, plan.remote)
        result = self._answer(row, deliveries, plan, verdict)
        linked, to_cancel = await self._linked_rows(package, row, plan, deliveries, result)
        row.intake_result = result.model_dump(mode="json", by_alias=True)  # for duplicates
        if not await intake_store.claim(self.session, row):
            # a concurrent duplicate committed first: answer with its result
            first = await intake_store.first_answer(self.session, key)
            if first is None:
                raise RuntimeError(f"package {key} neither inserted nor found")
            return _replay(first, sha)
        await self._store(row, deliveries, plan, linked, to_cancel)
        await self._audit(row, deliveries, result, principal)
        return result

    # --- the steps of intake ---------------------------------------------------------------

    async def _validated(
        self, raw: bytes, principal: Principal
    ) -> tuple[DocumentPackage | StatusPackage, list[dict[str, Any]], ReadXml | None]:
        """1. The package read and checked (400 MALFORMED_XML, 413, 422), its warnings, and
        the tree it was read from, for the signature step."""
        report = await anyio.to_thread.run_sync(
            partial(validate_package, raw, limits=self.limits, keep_tree=True)
        )
        if report.ok and report.package is not None:
            return report.package, [f.as_dict() for f in report.warnings], report.read
        findings = [f.as_dict() for f in report.findings]
        codes = {f.code for f in report.errors}
        if FindingCode.PACKAGE_TOO_LARGE in codes:
            raise PayloadTooLarge(findings=findings)
        if codes & _MALFORMED:
            raise MalformedXml(findings=findings)
        if FindingCode.DOCUMENT_EXCLUDED in codes and report.package is not None:
            await refuse_excluded(
                self.session, report, raw, principal, self.clock(), self.limits.exclusions
            )
        raise ValidationFailed(findings=findings)

    @staticmethod
    def _authorise(package: DocumentPackage | StatusPackage, principal: Principal) -> None:
        """2. The calling system must be bound to the package's From OrganId (403)."""
        sender = package.sender_id
        if principal.kind != "system" or not principal.acts_for(sender):
            raise Forbidden(
                f"Hệ thống không được gửi thay cơ quan {sender} (From/OrganId)",
                en=f"This system may not send for agency {sender} (From/OrganId)",
                details={"from": sender, "allowed": sorted(principal.agencies)},
            )

    async def _plan(
        self,
        package: DocumentPackage | StatusPackage,
        key: str,
        warnings: list[dict[str, Any]],
        principal: Principal,
    ) -> _Plan:
        """5. Where the copies go (one registry lookup) and what the package links to."""
        registry = RegistryService(self.session, principal.actor)
        now = self.clock()
        if isinstance(package, StatusPackage):
            row = self._status_row(package, key)
            if not package.response_for.organ_id:
                raise ValidationFailed(
                    "Gói tin trạng thái thiếu ResponseFor/OrganId: không biết gửi cho ai",
                    en="The status package has no ResponseFor/OrganId: no one to send it to",
                )
            routes, remote = await self._resolve(registry, [package.response_for.organ_id])
            # who may say what, and about which copy (gateway.packages.status_rules)
            link = await StatusRules(self.session).decide(package, routes[0])
            legal = self.calendar.legal_receipt_time(now)
            warnings = [*warnings, *link.warnings]
            return _Plan(row, routes, remote, now, legal, warnings, link=link)
        row = self._document_row(package, key)
        routes, remote = await self._resolve(registry, package.recipient_ids)
        originals = await self._find_originals(package)
        legal = self.calendar.legal_receipt_time(now)
        return _Plan(row, routes, remote, now, legal, warnings, originals=originals)

    def _package_row(
        self,
        plan: _Plan,
        raw: bytes,
        sha: str,
        principal: Principal,
        verdict: SignatureVerdict | None,
    ) -> Package:
        row = plan.row
        row.id = new_id()
        row.submitted_by_system_id = principal.id
        row.size = len(raw)
        row.sha256 = sha
        row.raw = raw
        row.warnings = plan.warnings
        row.signature_class = verdict.signature_class if verdict else None
        row.signature_info = verdict.details if verdict else None
        row.received_at = plan.now
        row.legal_received_at = plan.legal
        row.request_id = current_request_id()  # follows the package into relay and worker logs
        return row

    def _answer(
        self,
        row: Package,
        deliveries: list[Delivery],
        plan: _Plan,
        verdict: SignatureVerdict | None,
    ) -> IntakeResult:
        return IntakeResult(
            package_id=row.id,
            kind=row.kind,  # type: ignore[arg-type]
            received_at=plan.now,
            legal_received_at=plan.legal,
            deliveries=[
                DeliveryRef(
                    delivery_id=d.id,
                    recipient=d.recipient_code,
                    addressed_to=d.addressed_to or d.recipient_code,
                )
                for d in deliveries
            ],
            rerouted=[Reroute(from_=r.addressed, to=r.final) for r in plan.routes if r.rerouted],
            signature_class=row.signature_class,
            reference_only=verdict.reference_only if verdict else None,
            warnings=plan.warnings,  # type: ignore[arg-type]
        )

    async def _linked_rows(
        self,
        package: DocumentPackage | StatusPackage,
        row: Package,
        plan: _Plan,
        deliveries: list[Delivery],
        result: IntakeResult,
    ) -> tuple[list[Any], list[Delivery]]:
        """The business status / document references to store, and copies to cancel."""
        if isinstance(package, StatusPackage):
            assert plan.link is not None
            return [self._status_record(package, row, plan.link, plan.now, result)], []
        return await self._plan_references(
            package, row, plan.originals, deliveries, plan.now, result
        )

    async def _store(
        self,
        row: Package,
        deliveries: list[Delivery],
        plan: _Plan,
        linked: list[Any],
        to_cancel: list[Delivery],
    ) -> None:
        """6. Everything else of the package, a statement per table, in this transaction."""
        await intake_store.insert_rows(self.session, [*deliveries, *linked])
        # only copies a transport must carry are queued: a poll copy is in its recipient's
        # inbox already, and upstream copies go through gateway.axis
        carried = {r.final for r in plan.routes if _pushed(r)}
        await intake_store.queue_copies(
            self.session, row, [d for d in deliveries if d.recipient_code in carried], plan.now
        )
        for d in to_cancel:  # a revoke: the original's copies still pending (rare: ORM)
            d.state = "cancelled"
            d.cancelled_at = plan.now
            d.updated_at = plan.now
        if to_cancel:
            await self.session.flush()
        upstream = [d for d in deliveries if d.recipient_code in plan.remote]
        if upstream and self.routing is not None:
            await self.routing.stored(self.session, row, upstream, plan.now)

    async def _audit(
        self,
        row: Package,
        deliveries: list[Delivery],
        result: IntakeResult,
        principal: Principal,
    ) -> None:
        """The package's audit events, one INSERT."""
        at, subject = result.received_at, f"package:{row.id}"
        events = [
            AuditEntry(
                "package.accepted",
                actor=principal.actor,
                subject=subject,
                at=at,
                data={
                    "kind": row.kind,
                    "from": row.sender_code,
                    "document_id": row.document_id,
                    "business_type": row.business_type,
                    "status_code": row.status_code,
                    "sha256": row.sha256,
                    "size": row.size,
                    "signature_class": row.signature_class,
                    "deliveries": [{"id": d.id, "recipient": d.recipient_code} for d in deliveries],
                    "linked_to": result.original_package_id,
                },
            )
        ]
        if result.rerouted:
            events.append(
                AuditEntry(
                    "package.rerouted",
                    actor="gateway",
                    subject=subject,
                    at=at,
                    data={"rerouted": [r.model_dump(by_alias=True) for r in result.rerouted]},
                )
            )
        events += [
            AuditEntry(
                "delivery.cancelled",
                actor=principal.actor,
                subject=f"delivery:{delivery_id}",
                at=at,
                data={"by_package": row.id, "original_package_id": ref.original_package_id},
            )
            for ref in result.references
            for delivery_id in ref.cancelled_deliveries
        ]
        await self.audit.append_many(events)

    async def _resolve(
        self, registry: RegistryService, codes: list[str]
    ) -> tuple[list[Route], set[str]]:
        """Routes of the addressed codes, and the final codes reached through the national
        axis (gateway.axis) rather than an inbox or push endpoint of this province."""
        if self.routing is None:
            return await registry.resolve(codes), set()
        return await self.routing.resolve(registry, codes)

    def _document_row(self, doc: DocumentPackage, key: str) -> Package:
        header = doc.header
        return Package(
            kind="document",
            idempotency_key=key,
            sender_code=doc.sender_id,
            document_id=doc.document_id,
            code=str(header.code),
            subject=doc.subject,
            priority=int(doc.priority),
            business_type=int(doc.business_type),
            promulgation_date=header.promulgation_info.promulgation_date,
            document_type=header.document_type.type_name or str(header.document_type.type),
            paper=doc.trace.business.paper if doc.trace.business else None,
        )

    def _status_row(self, st: StatusPackage, key: str) -> Package:
        rf = st.response_for
        return Package(
            kind="status",
            idempotency_key=key,
            sender_code=st.sender_id,
            document_id=rf.document_id,
            code=rf.code,
            subject=st.description,
            promulgation_date=rf.promulgation_date,
            status_code=st.status_code,
            status_timestamp=st.timestamp,
            response_for_organ=rf.organ_id,
        )

    @staticmethod
    def _deliveries(row: Package, routes: Sequence[Route], remote: set[str]) -> list[Delivery]:
        """One copy per final recipient. A poll copy is in the recipient's inbox as soon as it
        is stored (sent, with its legal receipt time); a push copy is sent when its endpoint
        answers 2xx, an upstream one when the national axis accepts it (gateway.axis)."""
        by_final: dict[str, Route] = {}
        for route in routes:
            # two old codes merged into one successor: one copy
            by_final.setdefault(route.final, route)
        now, legal = row.received_at, row.legal_received_at
        return [
            Delivery(
                id=new_id(),
                package_id=row.id,
                recipient_code=final,
                addressed_to=route.addressed if route.rerouted else None,
                kind=row.kind,
                state="pending",
                queued_at=now,
                sent_at=None if _pushed(route) or final in remote else now,
                legal_received_at=None if _pushed(route) else legal,
                attempts=0,
                updated_at=now,
            )
            for final, route in by_final.items()
        ]

    # --- revoke / update / replace -------------------------------------------------------

    async def _find_originals(self, doc: DocumentPackage) -> dict[str, Package | None]:
        if doc.business_type is BusinessDocType.NEW:
            return {}
        # only the issuer can act on its own document
        return {
            document_id: await self.repo.original_by_document_id(document_id, doc.sender_id)
            for document_id in doc.referenced_document_ids
        }

    async def _plan_references(
        self,
        doc: DocumentPackage,
        row: Package,
        originals: dict[str, Package | None],
        deliveries: list[Delivery],
        now: datetime,
        result: IntakeResult,
    ) -> tuple[list[Any], list[Delivery]]:
        """Reference rows to store and, for a revoke, the original's copies to cancel: those
        still pending for the revoke's recipients (a copy already fetched stays delivered; the
        recipient gets the revoke and handles it)."""
        recipients = {d.recipient_code for d in deliveries}
        refs: list[Any] = []
        to_cancel: list[Delivery] = []
        for document_id, original in originals.items():
            cancelled: list[Delivery] = []
            if original is not None and doc.business_type is BusinessDocType.REVOKE:
                cancelled = [
                    d
                    for d in await self.repo.deliveries_of(original.id)
                    if d.state == "pending" and d.recipient_code in recipients
                ]
            to_cancel += cancelled
            refs.append(
                DocumentReference(
                    id=new_id(),
                    package_id=row.id,
                    document_id=document_id,
                    original_package_id=original.id if original else None,
                    business_type=int(doc.business_type),
                    created_at=now,
                )
            )
            result.references.append(
                ReferenceOut(
                    document_id=document_id,
                    original_package_id=original.id if original else None,
                    cancelled_deliveries=[d.id for d in cancelled],
                )
            )
        return refs, to_cancel

    # --- business statuses ---------------------------------------------------------------

    def _status_record(
        self,
        st: StatusPackage,
        row: Package,
        link: StatusDecision,
        now: datetime,
        result: IntakeResult,
    ) -> BusinessStatus:
        try:
            status_at = parse_timestamp(st.timestamp)
        except ValueError:
            status_at = None
        original, delivery, agency = link.original, link.delivery, link.agency
        result.linked = original is not None
        result.original_package_id = original.id if original else None
        return BusinessStatus(
            id=new_id(),
            status_package_id=row.id,
            original_package_id=original.id if original else None,
            delivery_id=delivery.id if delivery else None,
            sender_code=st.sender_id,
            agency_code=agency,
            status_code=st.status_code,
            label=status_label(st.status_code),
            description=st.description,
            timestamp=st.timestamp,
            status_at=status_at,
            received_at=now,
        )

    # ========================================================================= reading

    async def fetch(
        self, package_id: str, principal: Principal, *, via: EnteredVia = "fetch"
    ) -> Fetched:
        """The package as the recipient must receive it (gateway.edxml.trace.relay_bytes).

        Allowed: the sender's systems, the systems of recipients with a live copy, operators.
        A recipient's first fetch marks its copy `delivered` and records when it entered the
        recipient's system (`via`: fetch, or vxp for getEdoc). One SELECT and one UPDATE
        (gateway.packages.poll_store), plus the audit INSERT at the first fetch.
        """
        await begin_write(self.session)
        found = await poll_store.read_for_fetch(self.session, package_id, _agencies(principal))
        if found is None:
            raise NotFound(f"Không có gói tin {package_id}", en=f"No package {package_id}")
        mine = [c for c in found.copies if c.state != "cancelled"]
        if not (mine or principal.is_operator or principal.acts_for(found.sender_code)):
            if found.copies:
                raise NotFound(
                    "Bản gửi cho cơ quan này đã bị thu hồi",
                    en="The copy for this agency was revoked",
                )
            raise Forbidden("Không có quyền đọc gói tin này", en="Not allowed to read this package")
        if not found.raw and found.pruned:  # the bytes were pruned after export to the archive
            await _refuse_pruned(self.session, found.package_id)
        now = self.clock()
        data = await anyio.to_thread.run_sync(relay_bytes, found.raw, self.node_code, now)
        legal = self.calendar.legal_receipt_time(now)  # if this is the copy's first fetch
        await poll_store.record_fetch(self.session, [c.id for c in mine], now, via, legal)
        await self.audit.append_many(
            [
                AuditEntry(
                    "delivery.delivered",
                    actor=principal.actor,
                    subject=f"delivery:{c.id}",
                    at=now,
                    data={"package_id": found.package_id, "recipient": c.recipient_code},
                )
                for c in mine
                if c.state == "pending"
            ]
        )
        return Fetched(
            found.package_id, data, [c.id for c in mine], trace_value(self.node_code, now)
        )

    async def acknowledge(self, delivery_id: str, principal: Principal) -> AckResult:
        """The recipient confirms receipt: one UPDATE … RETURNING, the audit INSERT and the
        sender's notice (gateway.packages.poll_store, .notices). A repeat changes nothing and
        answers as the first time did."""
        await begin_write(self.session)
        now = self.clock()
        legal = self.calendar.legal_receipt_time(now)  # if acknowledged without a fetch
        acked = await poll_store.record_ack(
            self.session, delivery_id, _agencies(principal), now, legal
        )
        if acked is None:
            return await self._not_acknowledged(delivery_id, principal)
        await self.audit.append_many(
            [
                AuditEntry(
                    "delivery.acknowledged",
                    actor=principal.actor,
                    subject=f"delivery:{delivery_id}",
                    at=now,
                    data={"package_id": acked.package_id, "recipient": acked.recipient_code},
                )
            ]
        )
        # tell the original sender, by push or in its notice list (gateway.packages.notices)
        await queue_ack_notice(self.session, acked, now)
        return AckResult(
            delivery_id=delivery_id,
            state="acknowledged",
            acknowledged_at=now,
            already_acknowledged=False,
        )

    async def _not_acknowledged(self, delivery_id: str, principal: Principal) -> AckResult:
        """Why `record_ack` changed nothing: no such copy (404), not the caller's (403), already
        acknowledged (the first answer again) or revoked (409)."""
        delivery = await self.repo.delivery(delivery_id)
        if delivery is None:
            raise NotFound(f"Không có bản gửi {delivery_id}", en=f"No delivery {delivery_id}")
        if not principal.acts_for(delivery.recipient_code):
            raise Forbidden(
                "Chỉ cơ quan nhận mới xác nhận được bản gửi này",
                en="Only the recipient agency may acknowledge this delivery",
            )
        if delivery.state == "acknowledged" and delivery.acknowledged_at is not None:
            return AckResult(
                delivery_id=delivery.id,
                state=delivery.state,
                acknowledged_at=delivery.acknowledged_at,
                already_acknowledged=True,
            )
        if delivery.state == "cancelled":
            raise Conflict(
                "Bản gửi này đã bị thu hồi",
                en="This delivery was revoked",
                details={"state": delivery.state},
            )
        raise RuntimeError(
            f"delivery {delivery_id} ({delivery.state}) neither acknowledged nor refused"
        )

    async def inbox(
        self,
        principal: Principal,
        agency: str | None,
        *,
        kinds: Sequence[str],
        states: Sequence[str],
        cursor: str | None,
        limit: int,
    ) -> InboxPage:
        if agency is None:
            if principal.kind == "system" and len(principal.agencies) == 1:
                agency = next(iter(principal.agencies))
            else:
                raise ValidationFailed(
                    "Cần tham số agency (mã cơ quan nhận)",
                    en="The agency parameter (recipient code) is required",
                )
        if not (principal.is_operator or principal.acts_for(agency)):
            raise Forbidden(
                f"Hệ thống không được đọc hộp thư của cơ quan {agency}",
                en=f"This system may not read the inbox of agency {agency}",
            )
        after = decode_cursor(cursor) if cursor else None
        rows = await poll_store.inbox_page(
            self.session, agency, kinds=kinds, states=states, after=after, limit=limit + 1
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            InboxItem(
                delivery_id=r.delivery_id,
                package_id=r.package_id,
                kind=r.kind,
                state=r.state,
                sender=r.sender_code,
                addressed_to=r.addressed_to or r.recipient_code,
                document_id=r.document_id,
                code=r.code,
                subject=r.subject,
                priority=r.priority,
                business_type=r.business_type,
                status_code=r.status_code,
                size=r.size,
                sha256=r.sha256,
                queued_at=r.queued_at,
                sent_at=r.sent_at,
                legal_received_at=r.legal_received_at,
                delivered_at=r.delivered_at,
                acknowledged_at=r.acknowledged_at,
                href=f"/api/v1/packages/{r.package_id}",
            )
            for r in rows
        ]
        next_cursor = encode_cursor(rows[-1].queued_at, rows[-1].delivery_id) if more else None
        return InboxPage(agency=agency, items=items, next_cursor=next_cursor)

    async def timeline(self, package_id: str, principal: Principal) -> Timeline:
        package = await self.repo.get(package_id)
        if package is None:
            raise NotFound(f"Không có gói tin {package_id}", en=f"No package {package_id}")
        if not (principal.is_operator or principal.acts_for(package.sender_code)):
            raise Forbidden(
                "Chỉ cơ quan gửi mới xem được diễn biến của gói tin này",
                en="Only the sending agency may see this package's timeline",
            )
        deliveries = await self.repo.deliveries_of(package.id)
        statuses = [_status_out(s) for s in await self.repo.statuses_for(package.id)]
        recipients = [
            RecipientTimeline(
                delivery_id=d.id,
                recipient=d.recipient_code,
                addressed_to=d.addressed_to or d.recipient_code,
                state=d.state,
                queued_at=d.queued_at,
                sent_at=d.sent_at,
                legal_received_at=d.legal_received_at,
                delivered_at=d.delivered_at,
                entered_at=d.entered_at,
                entered_via=d.entered_via,
                entered_legal_at=d.entered_legal_at,
                acknowledged_at=d.acknowledged_at,
                cancelled_at=d.cancelled_at,
                attempts=d.attempts,
                last_error=d.last_error,
                statuses=[s for s in statuses if s.delivery_id == d.id],
            )
            for d in deliveries
        ]
        related = [
            RelatedPackage(
                package_id=p.id,
                business_type=ref.business_type,
                label=business_label(ref.business_type),
                document_id=p.document_id,
                received_at=p.received_at,
            )
            for ref, p in await self.repo.related_to(package.id)
        ]
        references = [
            ReferenceOut(document_id=r.document_id, original_package_id=r.original_package_id)
            for r in await self.repo.references_of(package.id)
        ]
        timeline = Timeline(
            package=PackageSummary(
                id=package.id,
                kind=package.kind,
                sender=package.sender_code,
                document_id=package.document_id,
                code=package.code,
                subject=package.subject,
                priority=package.priority,
                business_type=package.business_type,
                status_code=package.status_code,
                size=package.size,
                sha256=package.sha256,
                signature_class=package.signature_class,
                signature=package.signature_info,
                received_at=package.received_at,
                legal_received_at=package.legal_received_at,
                warnings=package.warnings or [],  # type: ignore[arg-type]
            ),
            recipients=recipients,
            statuses=statuses,
            related=related,
            references=references,
        )
        if self.routing is not None:
            await self.routing.annotate(self.session, timeline)
        return timeline


def _agencies(principal: Principal) -> frozenset[str]:
    """The agencies whose copies the principal fetches and acknowledges (`acts_for`)."""
    return frozenset(principal.agencies) if principal.kind == "system" else frozenset()


async def _refuse_pruned(session: AsyncSession, package_id: str) -> None:
    """410 Gone for a package whose bytes were handed to the archive and pruned."""
    from .models import ArchiveTombstone

    tombstone = await session.get(ArchiveTombstone, package_id)
    if tombstone is not None:
        raise Gone(
            "Gói tin đã được chuyển giao cho cơ quan lưu trữ lịch sử và xóa khỏi trục",
            en="The package was handed to the historical archive and removed from the gateway",
            details={
                "package_id": package_id,
                "sha256": tombstone.sha256,
                "size": tombstone.size,
                "bundle_id": tombstone.bundle_id,
                "bundle_sha256": tombstone.bundle_sha256,
                "exported_at": tombstone.exported_at.isoformat(),
                "pruned_at": tombstone.pruned_at.isoformat(),
            },
        )


def _status_out(s: BusinessStatus) -> StatusOut:
    return StatusOut(
        status_package_id=s.status_package_id,
        sender=s.sender_code,
        agency=s.agency_code,
        delivery_id=s.delivery_id,
        code=s.status_code,
        label=s.label,
        description=s.description,
        timestamp=s.timestamp,
        status_at=s.status_at,
        received_at=s.received_at,
    )
