"""Read-only queries behind the dashboard, the metrics gauges and the charts.

Everything here reads; nothing commits. Per-day figures are grouped in Python on the
calendar's time zone (portable between SQLite and PostgreSQL, and exact for Vietnam time);
the ranges they cover are bounded by the callers (at most `MAX_CHART_DAYS`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ...audit.models import AuditEvent
from ...delivery.models import QueuedJob
from ...outbox import OutboxMessage
from ...packages.models import Delivery, Package
from ...registry.models import Agency

MAX_CHART_DAYS = 92
SIGNED = "signed-valid"
PRIORITIES = (0, 1, 2, 3, 4)


def day_start(d: date, zone: tzinfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=zone)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[int(rank) - 1]


@dataclass
class AgencyBacklog:
    code: str
    pending: int = 0
    oldest_pending_at: datetime | None = None
    failed: int = 0


@dataclass
class Overview:
    packages_today: int
    documents_today: int
    statuses_today: int
    delivered_today: int
    in_flight: int
    failed: int
    oldest_pending_at: datetime | None
    backlog_by_priority: dict[int, int]
    outbox_unpublished: int
    outbox_oldest_at: datetime | None


@dataclass
class QueueRow:
    code: str
    name: str
    delivery_mode: str
    endpoint_url: str | None
    active: bool
    pending: int
    failed: int
    oldest_pending_at: datetime | None
    last_success_at: datetime | None


@dataclass
class SearchFilters:
    document_id: str = ""
    code: str = ""
    agency: str = ""
    date_from: date | None = None
    date_to: date | None = None
    status: str = ""
    kind: str = ""

    @property
    def empty(self) -> bool:
        return not (
            self.document_id
            or self.code
            or self.agency
            or self.date_from
            or self.date_to
            or self.status
            or self.kind
        )


@dataclass
class SearchHit:
    package: Package
    states: Counter[str] = field(default_factory=Counter)
    recipients: list[str] = field(default_factory=list)


@dataclass
class DayFigures:
    day: date
    documents: int = 0
    statuses: int = 0
    signed: int = 0
    unsigned: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.documents + self.statuses

    def latency(self, p: float) -> float | None:
        return percentile(self.latencies, p)


class OpsRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # --- backlog (dashboard overview and queue view, metrics gauges) ---------------------
    async def backlog_by_agency(self) -> dict[str, AgencyBacklog]:
        out: dict[str, AgencyBacklog] = {}
        pending = await self.session.execute(
            select(Delivery.recipient_code, func.count(), func.min(Delivery.queued_at))
            .where(Delivery.state == "pending")
            .group_by(Delivery.recipient_code)
        )
        for code, n, oldest in pending.all():
            out[code] = AgencyBacklog(code, pending=int(n), oldest_pending_at=_utc(oldest))
        failed = await self.session.execute(
            select(Delivery.recipient_code, func.count())
            .where(Delivery.state == "failed")
            .group_by(Delivery.recipient_code)
        )
        for code, n in failed.all():
            out.setdefault(code, AgencyBacklog(code)).failed = int(n)
        return out

    async def outbox_state(self) -> tuple[int, datetime | None]:
        row = (
            await self.session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.published_at.is_(None)
                )
            )
        ).one()
        return int(row[0]), _utc(row[1])

    async def job_states(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(QueuedJob.state, func.count()).group_by(QueuedJob.state)
        )
        return {state: int(n) for state, n in rows.all()}

    async def overview(self, now: datetime, zone: tzinfo) -> Overview:
        today = day_start(now.astimezone(zone).date(), zone)
        kinds = dict(
            (
                await self.session.execute(
                    select(Package.kind, func.count())
                    .where(Package.received_at >= today)
                    .group_by(Package.kind)
                )
            ).all()
        )
        delivered_today = await self.session.scalar(
            select(func.count()).where(Delivery.delivered_at >= today)
        )
        pending = (
            await self.session.execute(
                select(func.count(), func.min(Delivery.queued_at)).where(
                    Delivery.state == "pending"
                )
            )
        ).one()
        failed = await self.session.scalar(select(func.count()).where(Delivery.state == "failed"))
        by_priority = dict.fromkeys(PRIORITIES, 0)
        rows = await self.session.execute(
            select(Package.priority, func.count())
            .select_from(Delivery)
            .join(Package, Package.id == Delivery.package_id)
            .where(Delivery.state == "pending")
            .group_by(Package.priority)
        )
        for prio, n in rows.all():
            by_priority[int(prio or 0)] = by_priority.get(int(prio or 0), 0) + int(n)
        unpublished, outbox_oldest = await self.outbox_state()
        return Overview(
            packages_today=sum(int(n) for n in kinds.values()),
            documents_today=int(kinds.get("document", 0)),
            statuses_today=int(kinds.get("status", 0)),
            delivered_today=int(delivered_today or 0),
            in_flight=int(pending[0]),
            failed=int(failed or 0),
            oldest_pending_at=_utc(pending[1]),
            backlog_by_priority=by_priority,
            outbox_unpublished=unpublished,
            outbox_oldest_at=outbox_oldest,
        )

    async def queues(self, *, only_active: bool = False) -> list[QueueRow]:
        """Every agency that has a backlog or is set up to receive (push endpoint or a poll
        agency that has ever been sent something), with its last successful delivery."""
        backlog = await self.backlog_by_agency()
        last = dict(
            (
                await self.session.execute(
                    select(Delivery.recipient_code, func.max(Delivery.delivered_at)).group_by(
                        Delivery.recipient_code
                    )
                )
            ).all()
        )
        stmt = select(Agency).order_by(Agency.code)
        if only_active:
            stmt = stmt.where(Agency.active.is_(True))
        rows: list[QueueRow] = []
        for agency in (await self.session.scalars(stmt)).all():
            b = backlog.get(agency.code)
            if b is None and agency.code not in last and agency.delivery_mode != "push":
                continue
            rows.append(
                QueueRow(
                    code=agency.code,
                    name=agency.name,
                    delivery_mode=agency.delivery_mode,
                    endpoint_url=agency.endpoint_url,
                    active=agency.active,
                    pending=b.pending if b else 0,
                    failed=b.failed if b else 0,
                    oldest_pending_at=b.oldest_pending_at if b else None,
                    last_success_at=_utc(last.get(agency.code)),
                )
            )
        # the worst first: failures, then the oldest backlog
        far = datetime.max.replace(tzinfo=None)
        rows.sort(
            key=lambda r: (
                -r.failed,
                r.oldest_pending_at.replace(tzinfo=None) if r.oldest_pending_at else far,
                r.code,
            )
        )
        return rows

    # --- dead letters --------------------------------------------------------------------
    async def failed_deliveries(
        self, *, agency: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[tuple[Delivery, Package]], int]:
        cond = [Delivery.state == "failed"]
        if agency:
            cond.append(Delivery.recipient_code == agency)
        total = await self.session.scalar(select(func.count()).select_from(Delivery).where(*cond))
        rows = await self.session.execute(
            select(Delivery, Package)
            .join(Package, Package.id == Delivery.package_id)
            .where(*cond)
            .order_by(Delivery.updated_at.desc(), Delivery.id)
            .offset(offset)
            .limit(limit)
        )
        return [(d, p) for d, p in rows.all()], int(total or 0)

    # --- package search ------------------------------------------------------------------
    async def search(
        self, f: SearchFilters, zone: tzinfo, *, limit: int = 50, offset: int = 0
    ) -> tuple[list[SearchHit], bool]:
        """Packages matching every given filter, newest first; and whether more follow."""
        stmt = select(Package)
        if f.document_id:
            stmt = stmt.where(Package.document_id.contains(f.document_id.strip(), autoescape=True))
        if f.code:
            stmt = stmt.where(
                func.lower(Package.code).contains(f.code.strip().lower(), autoescape=True)
            )
        if f.kind:
            stmt = stmt.where(Package.kind == f.kind)
        if f.agency:
            code = f.agency.strip()
            stmt = stmt.where(
                or_(
                    Package.sender_code == code,
                    exists().where(
                        and_(Delivery.package_id == Package.id, Delivery.recipient_code == code)
                    ),
                )
            )
        if f.date_from:
            stmt = stmt.where(Package.received_at >= day_start(f.date_from, zone))
        if f.date_to:
            stmt = stmt.where(Package.received_at < day_start(f.date_to + timedelta(days=1), zone))
        if f.status:
            stmt = stmt.where(
                exists().where(and_(Delivery.package_id == Package.id, Delivery.state == f.status))
            )
        stmt = stmt.order_by(Package.received_at.desc(), Package.id).offset(offset).limit(limit + 1)
        packages = list((await self.session.scalars(stmt)).all())
        more = len(packages) > limit
        packages = packages[:limit]
        hits = {p.id: SearchHit(p) for p in packages}
        if hits:
            rows = await self.session.execute(
                select(Delivery.package_id, Delivery.recipient_code, Delivery.state)
                .where(Delivery.package_id.in_(list(hits)))
                .order_by(Delivery.recipient_code)
            )
            for package_id, recipient, state in rows.all():
                hits[package_id].states[state] += 1
                hits[package_id].recipients.append(recipient)
        return [hits[p.id] for p in packages], more

    async def package(self, package_id: str) -> Package | None:
        return await self.session.get(Package, package_id)

    async def audit_trail(self, package_id: str, delivery_ids: Sequence[str]) -> list[AuditEvent]:
        subjects = [f"package:{package_id}", *(f"delivery:{d}" for d in delivery_ids)]
        rows = await self.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject.in_(subjects))
            .order_by(AuditEvent.seq)
            .limit(500)
        )
        return list(rows.all())

    # --- charts --------------------------------------------------------------------------
    async def days(self, first: date, last: date, zone: tzinfo) -> list[DayFigures]:
        """Per local day from `first` to `last` (inclusive): packages received (documents,
        statuses), signed vs unsigned documents, and the queued → delivered latency of the
        copies delivered that day."""
        if (last - first).days + 1 > MAX_CHART_DAYS:
            first = last - timedelta(days=MAX_CHART_DAYS - 1)
        start, end = day_start(first, zone), day_start(last + timedelta(days=1), zone)
        figures = {
            first + timedelta(days=i): DayFigures(first + timedelta(days=i))
            for i in range((last - first).days + 1)
        }
        rows = await self.session.execute(
            select(Package.received_at, Package.kind, Package.signature_class).where(
                Package.received_at >= start, Package.received_at < end
            )
        )
        for at, kind, sig in rows.all():
            day = figures.get(_utc(at).astimezone(zone).date())  # type: ignore[union-attr]
            if day is None:
                continue
            if kind == "document":
                day.documents += 1
                if sig == SIGNED:
                    day.signed += 1
                else:
                    day.unsigned += 1
            else:
                day.statuses += 1
        rows = await self.session.execute(
            select(Delivery.queued_at, Delivery.delivered_at).where(
                Delivery.delivered_at >= start, Delivery.delivered_at < end
            )
        )
        for queued, delivered in rows.all():
            delivered = _utc(delivered)
            day = figures.get(delivered.astimezone(zone).date())  # type: ignore[union-attr]
            if day is not None:
                seconds = (delivered - _utc(queued)).total_seconds()  # type: ignore[operator]
                day.latencies.append(max(0.0, seconds))
        return [figures[d] for d in sorted(figures)]


def _utc(value: datetime | None) -> datetime | None:
    """Aggregates (min/max) bypass the column type: SQLite gives naive UTC (or text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def group_states(states: Counter[str]) -> list[tuple[str, int]]:
    order = ("pending", "delivered", "acknowledged", "failed", "cancelled")
    return [(s, states[s]) for s in order if states.get(s)]
