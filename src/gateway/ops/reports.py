"""The monthly report to the provincial People's Committee: per agency, documents sent and
received electronically through the gateway.

For a month (in the office calendar's time zone, Vietnam time by default), per agency:

- **sent**: document packages (new, update, replace — not revocations, not business statuses)
  whose sender is the agency and that the gateway received during the month; split into
  - signed (`signature_class` = `signed-valid`) / unsigned (anything else: unsigned,
    placeholder, not checked);
  - on time / late / timing unknown: on time when the gateway received the package no later
    than the END of the morning office period of the first working day after its
    PromulgationDate (`OfficeCalendar.next_working_morning`), late otherwise; unknown when
    the package has no readable PromulgationDate;
  - with a paper copy (`Bussiness/Paper` = 1) / paper unknown (packages stored before the
    gateway recorded the flag);
- **received**: copies of document packages for the agency that reached `delivered` or
  `acknowledged`, counted in the month they entered the recipient's system (`entered_at`:
  the push endpoint's 2xx or the first fetch; `delivered_at` for copies handed to the
  national axis or stored before the gateway recorded `entered_at`); signed / unsigned /
  with paper copy. Which time each side counts by is in `TIME_BASIS`, shown with the report.

Every agency of the registry that is active, or that sent or received anything that month, has
a row (zeros included: the report shows who does not yet use the gateway). The CSV (UTF-8 with
a byte-order mark, so spreadsheet programs read Vietnamese names correctly) is the same from
`gateway report monthly --month 2026-10`, `GET /api/v1/admin/reports/monthly?month=…&format=csv`
and the dashboard.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..calendar import OfficeCalendar
from ..csv_out import to_csv
from ..packages.models import Delivery, Package
from ..registry.models import Agency

SIGNED = "signed-valid"
RECEIVED_STATES = ("delivered", "acknowledged")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y")
REVOKE = 1  # BussinessDocType of a revocation
NOT_REVOCATION = Package.business_type.is_(None) | (Package.business_type != REVOKE)


# which moment each side of the report counts by (shown in the JSON and on the dashboard)
TIME_BASIS = {
    "sent": "received_at: when the gateway accepted the package (also for on time / late)",
    "received": "entered_at: when the copy entered the recipient's system (push: the "
    "endpoint's 2xx; poll: the first fetch); delivered_at where that is not known",
}


class BadMonth(ValueError):
    """`str()` is Vietnamese (the product's default); `en` the same in English."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(vi)
        self.en = en


def parse_month(text: str) -> tuple[date, date]:
    """'2026-10' → (2026-10-01, 2026-11-01)."""
    m = _MONTH.match((text or "").strip())
    if not m:
        raise BadMonth(
            f"tháng phải có dạng 2026-10, nhận được {text!r}",
            f"month must look like 2026-10, got {text!r}",
        )
    year, month = int(m.group(1)), int(m.group(2))
    first = date(year, month, 1)
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first, nxt


def parse_promulgation(text: str | None) -> date | None:
    if not text:
        return None
    value = text.strip()[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def timeliness(calendar: OfficeCalendar, promulgation: str | None, sent_at: datetime) -> str:
    """'on_time' | 'late' | 'unknown' for a document sent at `sent_at`."""
    day = parse_promulgation(promulgation)
    if day is None:
        return "unknown"
    try:
        _, deadline = calendar.next_working_morning(day)
    except ValueError:
        return "unknown"
    return "on_time" if sent_at <= deadline else "late"


@dataclass
class AgencyMonth:
    agency_code: str
    agency_name: str
    sent: int = 0
    sent_signed: int = 0
    sent_unsigned: int = 0
    sent_on_time: int = 0
    sent_late: int = 0
    sent_timing_unknown: int = 0
    sent_with_paper: int = 0
    sent_paper_unknown: int = 0
    received: int = 0
    received_signed: int = 0
    received_unsigned: int = 0
    received_with_paper: int = 0


COLUMNS = tuple(f.name for f in fields(AgencyMonth))
FIGURES = COLUMNS[2:]


@dataclass
class MonthlyReport:
    month: str
    rows: list[AgencyMonth]
    generated_at: datetime

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(r, k) for r in self.rows) for k in FIGURES}

    def row(self, code: str) -> AgencyMonth:
        return next(r for r in self.rows if r.agency_code == code)

    def to_csv(self) -> bytes:
        rows = ((self.month, *(d[c] for c in COLUMNS)) for d in map(asdict, self.rows))
        return to_csv(("month", *COLUMNS), rows)


async def monthly_report(
    session: AsyncSession, month: str, calendar: OfficeCalendar, *, now: datetime | None = None
) -> MonthlyReport:
    first, nxt = parse_month(month)
    zone = calendar.zone
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(nxt, datetime.min.time(), tzinfo=zone)

    rows: dict[str, AgencyMonth] = {}
    for code, name, active in (
        await session.execute(select(Agency.code, Agency.name, Agency.active))
    ).all():
        if active:
            rows[code] = AgencyMonth(code, name)
    names = dict((await session.execute(select(Agency.code, Agency.name))).all())

    def row(code: str) -> AgencyMonth:
        if code not in rows:
            rows[code] = AgencyMonth(code, names.get(code, ""))
        return rows[code]

    sent = await session.execute(
        select(
            Package.sender_code,
            Package.signature_class,
            Package.promulgation_date,
            Package.received_at,
            Package.paper,
        )
        .where(Package.kind == "document", Package.received_at >= start, Package.received_at < end)
        .where(NOT_REVOCATION)  # a revocation is not a document sent (gateway.ops.period_report)
    )
    for sender, sig, promulgation, received_at, paper in sent.all():
        r = row(sender)
        r.sent += 1
        if sig == SIGNED:
            r.sent_signed += 1
        else:
            r.sent_unsigned += 1
        timing = timeliness(calendar, promulgation, received_at)
        if timing == "on_time":
            r.sent_on_time += 1
        elif timing == "late":
            r.sent_late += 1
        else:
            r.sent_timing_unknown += 1
        if paper is None:
            r.sent_paper_unknown += 1
        elif paper == 1:
            r.sent_with_paper += 1

    arrived = func.coalesce(Delivery.entered_at, Delivery.delivered_at)
    received = await session.execute(
        select(Delivery.recipient_code, Package.signature_class, Package.paper)
        .join(Package, Package.id == Delivery.package_id)
        .where(NOT_REVOCATION)
        .where(
            Delivery.kind == "document",
            Delivery.state.in_(RECEIVED_STATES),
            arrived >= start,
            arrived < end,
        )
    )
    for recipient, sig, paper in received.all():
        r = row(recipient)
        r.received += 1
        if sig == SIGNED:
            r.received_signed += 1
        else:
            r.received_unsigned += 1
        if paper == 1:
            r.received_with_paper += 1

    return MonthlyReport(
        month=f"{first:%Y-%m}",
        rows=[rows[c] for c in sorted(rows)],
        generated_at=now or datetime.now(UTC),
    )
