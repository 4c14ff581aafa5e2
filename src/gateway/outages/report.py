"""The outage report: the incidents of a period and, for each, the copies it affected.

An incident is in the report when it overlaps the period (Vietnam dates, both included; open
incidents reach to now). A copy is *affected* when it was waiting at some moment of the
incident: queued before its end, and not delivered, cancelled or given up on before its start
(gateway.outages.repository). Each is listed with its package's DocumentId, code (số, ký
hiệu), subject, Priority and the copy's state now, urgent first. The same report comes from
`gateway report outages`, `GET /api/v1/admin/reports/outages` (JSON or CSV) and the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..calendar import OfficeCalendar
from ..csv_out import to_csv
from ..db import show_time
from .models import AGENCY_KINDS, OutageIncident
from .repository import OutageRepository
from .service import seconds

EARLIEST, LATEST = date(1970, 1, 1), date(9999, 12, 30)


class BadPeriod(ValueError):
    """`str()` is Vietnamese (the product's default); `en` the same in English."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(vi)
        self.en = en


def check_period(start: date | None, end: date | None) -> None:
    for day in (start, end):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise BadPeriod(
                f"ngày phải nằm trong khoảng {EARLIEST} đến {LATEST}, nhận được {day}",
                f"dates must be between {EARLIEST} and {LATEST}, got {day}",
            )


CSV_COLUMNS = (
    "incident_id",
    "kind",
    "agency_code",
    "agency_name",
    "state",
    "started_at",
    "closed_at",
    "duration_seconds",
    "working_seconds",
    "document_id",
    "code",
    "subject",
    "priority",
    "package_kind",
    "package_id",
    "delivery_id",
    "delivery_state",
    "queued_at",
    "delivered_at",
)


@dataclass
class AffectedCopy:
    delivery_id: str
    package_id: str
    package_kind: str
    document_id: str | None
    code: str | None
    subject: str | None
    priority: int
    recipient: str
    state: str
    queued_at: datetime
    delivered_at: datetime | None


@dataclass
class IncidentEntry:
    id: int
    kind: str
    target: str
    agency_name: str | None
    started_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    duration_seconds: int
    """Wall-clock, to the close (open incidents: to now)."""
    working_seconds: int
    """Office time (the calendar's working hours), to the close or now."""
    last_error: str | None
    affected: list[AffectedCopy] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.closed_at is None

    @property
    def agency_code(self) -> str | None:
        return self.target if self.kind in AGENCY_KINDS else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "agency_code": self.agency_code,
            "agency_name": self.agency_name,
            "state": "open" if self.open else "closed",
            "started_at": show_time(self.started_at),
            "opened_at": show_time(self.opened_at),
            "closed_at": show_time(self.closed_at) if self.closed_at else None,
            "duration_seconds": self.duration_seconds,
            "working_seconds": self.working_seconds,
            "last_error": self.last_error,
            "affected_count": len(self.affected),
            "affected": [
                {
                    "delivery_id": c.delivery_id,
                    "package_id": c.package_id,
                    "package_kind": c.package_kind,
                    "document_id": c.document_id,
                    "code": c.code,
                    "subject": c.subject,
                    "priority": c.priority,
                    "recipient": c.recipient,
                    "delivery_state": c.state,
                    "queued_at": show_time(c.queued_at),
                    "delivered_at": show_time(c.delivered_at) if c.delivered_at else None,
                }
                for c in self.affected
            ],
        }


@dataclass
class OutageReport:
    start: date | None
    end: date | None
    generated_at: datetime
    incidents: list[IncidentEntry]

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "generated_at": show_time(self.generated_at),
            "incidents": [i.as_dict() for i in self.incidents],
        }

    def to_csv(self) -> bytes:
        """One line per affected copy (an incident without any: one line, copy columns empty);
        UTF-8 with a byte-order mark, like the monthly report."""
        rows: list[list[Any]] = []
        for i in self.incidents:
            head = [
                i.id,
                i.kind,
                i.agency_code or "",
                i.agency_name or "",
                "open" if i.open else "closed",
                show_time(i.started_at),
                show_time(i.closed_at) if i.closed_at else "",
                i.duration_seconds,
                i.working_seconds,
            ]
            if not i.affected:
                rows.append(head + [""] * (len(CSV_COLUMNS) - len(head)))
            for c in i.affected:
                rows.append(
                    [
                        *head,
                        c.document_id or "",
                        c.code or "",
                        c.subject or "",
                        c.priority,
                        c.package_kind,
                        c.package_id,
                        c.delivery_id,
                        c.state,
                        show_time(c.queued_at),
                        show_time(c.delivered_at) if c.delivered_at else "",
                    ]
                )
        return to_csv(CSV_COLUMNS, rows)


async def entry_for(
    repo: OutageRepository,
    incident: OutageIncident,
    calendar: OfficeCalendar,
    now: datetime,
    names: dict[str, str],
    *,
    with_copies: bool = True,
) -> IncidentEntry:
    end = incident.closed_at or now
    entry = IncidentEntry(
        id=incident.id,
        kind=incident.kind,
        target=incident.target,
        agency_name=names.get(incident.target),
        started_at=incident.started_at,
        opened_at=incident.opened_at,
        closed_at=incident.closed_at,
        duration_seconds=seconds(end - incident.started_at),
        working_seconds=seconds(calendar.working_time_between(incident.started_at, end)),
        last_error=incident.last_error,
    )
    if with_copies:
        entry.affected = [
            AffectedCopy(
                delivery_id=d.id,
                package_id=p.id,
                package_kind=p.kind,
                document_id=p.document_id,
                code=p.code,
                subject=p.subject,
                priority=p.priority or 0,
                recipient=d.recipient_code,
                state=d.state,
                queued_at=d.queued_at,
                delivered_at=d.delivered_at,
            )
            for d, p in await repo.affected(incident, end)
        ]
    return entry


async def outage_report(
    session: AsyncSession,
    calendar: OfficeCalendar,
    *,
    now: datetime,
    start: date | None = None,
    end: date | None = None,
    agency: str | None = None,
) -> OutageReport:
    """Incidents overlapping [start, end] (Vietnam dates, both included; None: unbounded),
    of one target if `agency` is given (an agency code, "upstream" or "gateway"), newest
    first. Every kind is listed: agency, upstream, inbox (a poll-mode agency not collecting)
    and gateway (the gateway's own downtime)."""
    check_period(start, end)
    zone = calendar.zone
    repo = OutageRepository(session)
    incidents = await repo.incidents(
        start=datetime.combine(start, time(0), tzinfo=zone) if start else None,
        end=datetime.combine(end + timedelta(days=1), time(0), tzinfo=zone) if end else None,
        target=agency,
    )
    names = await repo.agency_names({i.target for i in incidents})
    entries = [await entry_for(repo, i, calendar, now, names) for i in incidents]
    return OutageReport(start=start, end=end, generated_at=now, incidents=entries)
