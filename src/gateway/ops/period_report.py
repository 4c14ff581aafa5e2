"""The report a People's Committee uses, per agency and for the province, for a month
("2026-10"), a quarter ("2026-Q3") or a year ("2026"), in Vietnam time (the office calendar's).

Per agency (and a province total row, code "TỔNG"):

- **sent** (packages of kind document whose sender is the agency, received by the gateway in
  the period), by what they do: new, update, replace, and their sum; **revocations apart**
  (`revoked`: they are not documents sent). Over new/update/replace: signed (`signed-valid`) /
  unsigned; on time / late / timing unknown (`timeliness`: on time when the gateway received
  the package no later than the END of the morning office period of the first working day
  after its PromulgationDate, `OfficeCalendar.next_working_morning`; unknown without a readable
  PromulgationDate); with a paper copy (`Bussiness/Paper` = 1) / paper unknown (rows stored
  before the flag was recorded); by priority (Thường, Khẩn, Thượng khẩn, Hỏa tốc, Hỏa tốc hẹn
  giờ);
- **received**: copies for the agency (revocations apart) now delivered or acknowledged,
  counted in the period they entered the recipient's system (`entered_at`: the push
  endpoint's 2xx or the first fetch; `delivered_at` where that is not known — `TIME_BASIS`),
  signed / unsigned / with a paper copy;
- **copies**: of those queued for the agency in the period, how many are still not fetched
  (pending) and how many failed now; `acknowledged`: copies acknowledged in the period;
- **processing outcomes** from the business statuses the agency sent in the period (by the
  status time): accepted (03), refused (02), done (06), and the median time from the
  document's arrival at the gateway to "done" (the status time), twice: wall-clock hours, and
  working hours of the office calendar (`OfficeCalendar.working_time_between`: nights,
  weekends and holidays do not count).

With the figures, the **outage incidents** that overlap the period (every kind: an agency's
endpoint failing, the national axis, a poll-mode agency not collecting its inbox, the gateway's
own downtime), each with its wall-clock and working duration (gateway.outages.report): in the
JSON (`incidents`), a second XLSX sheet and on the dashboard.

Every agency of the registry that is active, or that sent or received anything in the period,
has a row (zeros included: the report shows who does not yet use the gateway). The monthly
report (gateway.ops.reports) is this report for a month. CSV (UTF-8 with BOM) and XLSX
(openpyxl) carry Vietnamese column headings; JSON the keys.
"""

from __future__ import annotations

import io
import re
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..calendar import OfficeCalendar
from ..csv_out import safe_cell, to_csv
from ..edxml.codes import BusinessDocType
from ..packages.models import BusinessStatus, Delivery, Package
from ..registry.models import Agency

SIGNED = "signed-valid"
RECEIVED_STATES = ("delivered", "acknowledged")
_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y")

# which moment each side of the report counts by (shown in the JSON and on the dashboard)
TIME_BASIS = {
    "sent": "received_at: when the gateway accepted the package (also for on time / late)",
    "received": "entered_at: when the copy entered the recipient's system (push: the "
    "endpoint's 2xx; poll: the first fetch); delivered_at where that is not known",
    "done": "status time of the 06 status minus the document's received_at: wall-clock "
    "hours, and working hours of the office calendar",
}


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


_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-[Qq]([1-4]))?$")
TOTAL = "TỔNG"
PRIORITY_KEYS = (
    "sent_ordinary",
    "sent_urgent",
    "sent_very_urgent",
    "sent_flash",
    "sent_flash_scheduled",
)
STATUS_KEYS = {"03": "accepted", "02": "refused", "06": "done"}

# (key, Vietnamese heading) in column order
HEADINGS: tuple[tuple[str, str], ...] = (
    ("agency_code", "Mã định danh cơ quan"),
    ("agency_name", "Tên cơ quan"),
    ("sent_new", "Gửi: văn bản mới"),
    ("sent_update", "Gửi: văn bản cập nhật"),
    ("sent_replace", "Gửi: văn bản thay thế"),
    ("sent", "Gửi: tổng (mới, cập nhật, thay thế)"),
    ("revoked", "Thu hồi văn bản"),
    ("sent_signed", "Gửi có ký số"),
    ("sent_unsigned", "Gửi không ký số"),
    ("sent_on_time", "Gửi đúng hạn"),
    ("sent_late", "Gửi trễ hạn"),
    ("sent_timing_unknown", "Gửi không rõ hạn"),
    ("sent_with_paper", "Gửi kèm bản giấy"),
    ("sent_paper_unknown", "Gửi không rõ bản giấy"),
    ("sent_ordinary", "Gửi: Thường"),
    ("sent_urgent", "Gửi: Khẩn"),
    ("sent_very_urgent", "Gửi: Thượng khẩn"),
    ("sent_flash", "Gửi: Hỏa tốc"),
    ("sent_flash_scheduled", "Gửi: Hỏa tốc hẹn giờ"),
    ("received", "Nhận"),
    ("received_signed", "Nhận có ký số"),
    ("received_unsigned", "Nhận không ký số"),
    ("received_with_paper", "Nhận kèm bản giấy"),
    ("not_fetched", "Chưa lấy về"),
    ("acknowledged", "Đã xác nhận đã nhận"),
    ("failed", "Gửi đến không thành công"),
    ("accepted", "Đã tiếp nhận (03)"),
    ("refused", "Từ chối (02)"),
    ("done", "Hoàn thành (06)"),
    ("median_hours_to_done", "Thời gian đến hoàn thành, trung vị (giờ, theo đồng hồ)"),
    ("median_working_hours_to_done", "Thời gian đến hoàn thành, trung vị (giờ làm việc)"),
)
MEDIANS = ("median_hours_to_done", "median_working_hours_to_done")
COUNTS = tuple(key for key, _ in HEADINGS[2:] if key not in MEDIANS)


class BadPeriod(ValueError):
    pass


def parse_period(text: str) -> tuple[str, date, date]:
    """'2026-10' (month), '2026-Q3' (quarter), '2026' (year) → (label, first day, next)."""
    m = _PERIOD.match((text or "").strip())
    if not m:
        raise BadPeriod(f"period must look like 2026-10, 2026-Q3 or 2026, got {text!r}")
    year = int(m.group(1))
    if m.group(2):
        month = int(m.group(2))
        first = date(year, month, 1)
        nxt = date(year + month // 12, month % 12 + 1, 1)
        return f"{first:%Y-%m}", first, nxt
    if m.group(3):
        quarter = int(m.group(3))
        first = date(year, 3 * quarter - 2, 1)
        nxt = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return f"{year}-Q{quarter}", first, nxt
    return str(year), date(year, 1, 1), date(year + 1, 1, 1)


@dataclass
class AgencyPeriod:
    agency_code: str
    agency_name: str
    sent_new: int = 0
    sent_update: int = 0
    sent_replace: int = 0
    sent: int = 0
    revoked: int = 0
    sent_signed: int = 0
    sent_unsigned: int = 0
    sent_on_time: int = 0
    sent_late: int = 0
    sent_timing_unknown: int = 0
    sent_with_paper: int = 0
    sent_paper_unknown: int = 0
    sent_ordinary: int = 0
    sent_urgent: int = 0
    sent_very_urgent: int = 0
    sent_flash: int = 0
    sent_flash_scheduled: int = 0
    received: int = 0
    received_signed: int = 0
    received_unsigned: int = 0
    received_with_paper: int = 0
    not_fetched: int = 0
    acknowledged: int = 0
    failed: int = 0
    accepted: int = 0
    refused: int = 0
    done: int = 0
    median_hours_to_done: float | None = None
    median_working_hours_to_done: float | None = None
    hours_to_done: list[float] = field(default_factory=list, repr=False)
    working_hours_to_done: list[float] = field(default_factory=list, repr=False)

    def values(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("hours_to_done")
        data.pop("working_hours_to_done")
        return data


INCIDENT_KINDS = {
    "agency": "Điểm nhận của cơ quan không nhận được văn bản",
    "upstream": "Kết nối lên trục quốc gia lỗi",
    "inbox": "Cơ quan không lấy văn bản về",
    "gateway": "Trục liên thông ngừng hoạt động",
}
INCIDENT_HEADINGS: tuple[tuple[str, str], ...] = (
    ("id", "Mã sự cố"),
    ("kind_name", "Loại sự cố"),
    ("target", "Cơ quan / kết nối"),
    ("agency_name", "Tên cơ quan"),
    ("started_at", "Bắt đầu"),
    ("closed_at", "Kết thúc"),
    ("hours", "Thời gian (giờ, theo đồng hồ)"),
    ("working_hours", "Thời gian (giờ làm việc)"),
    ("affected", "Số bản văn bản bị ảnh hưởng"),
)


@dataclass
class IncidentLine:
    """An outage incident overlapping the period (open ones: to the report's time)."""

    id: int
    kind: str
    target: str
    agency_name: str | None
    started_at: str
    closed_at: str | None
    hours: float
    working_hours: float
    affected: int

    def values(self) -> dict[str, object]:
        return {**asdict(self), "kind_name": INCIDENT_KINDS.get(self.kind, self.kind)}


@dataclass
class PeriodReport:
    period: str
    first_day: date
    next_day: date
    rows: list[AgencyPeriod]
    total: AgencyPeriod
    generated_at: datetime
    incidents: list[IncidentLine] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "period": self.period,
            "from": self.first_day.isoformat(),
            "to": self.next_day.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "rows": [r.values() for r in self.rows],
            "total": self.total.values(),
            "headings": dict(HEADINGS),
            "basis": TIME_BASIS,  # which moment each figure counts by
            "incidents": [i.values() for i in self.incidents],
        }

    def _table(self) -> list[list[object]]:
        lines: list[list[object]] = [[heading for _, heading in HEADINGS]]
        for r in [*self.rows, self.total]:
            values = r.values()
            lines.append([values[key] for key, _ in HEADINGS])
        return lines

    def to_csv(self) -> bytes:
        lines = [["" if v is None else v for v in line] for line in self._table()]
        return to_csv(["Kỳ báo cáo", self.period], lines)  # agency names neutralised there

    def to_xlsx(self) -> bytes:
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font

        book = Workbook()
        sheet = book.active
        sheet.title = f"Báo cáo {self.period}"[:31]
        sheet.append([f"Báo cáo gửi, nhận văn bản điện tử — kỳ {self.period}"])
        sheet["A1"].font = Font(bold=True, size=13)
        for line in self._table():  # openpyxl stores a str starting with "=" as a formula
            sheet.append([safe_cell(v) for v in line])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 18
        sheet.column_dimensions["B"].width = 40
        sheet.freeze_panes = "C3"
        outages = book.create_sheet("Sự cố")
        outages.append([heading for _, heading in INCIDENT_HEADINGS])
        for cell in outages[1]:
            cell.font = Font(bold=True)
        for incident in self.incidents:
            values = incident.values()
            outages.append([safe_cell(values[key]) for key, _ in INCIDENT_HEADINGS])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


async def period_report(
    session: AsyncSession, period: str, calendar: OfficeCalendar, *, now: datetime
) -> PeriodReport:
    label, first, nxt = parse_period(period)
    zone = calendar.zone
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(nxt, datetime.min.time(), tzinfo=zone)
    names = dict((await session.execute(select(Agency.code, Agency.name))).all())
    rows: dict[str, AgencyPeriod] = {
        code: AgencyPeriod(code, name)
        for code, name in (
            await session.execute(select(Agency.code, Agency.name).where(Agency.active.is_(True)))
        ).all()
    }

    def row(code: str) -> AgencyPeriod:
        if code not in rows:
            rows[code] = AgencyPeriod(code, names.get(code, ""))
        return rows[code]

    revoke = int(BusinessDocType.REVOKE)
    sent = await session.execute(
        select(
            Package.sender_code,
            Package.business_type,
            Package.signature_class,
            Package.promulgation_date,
            Package.received_at,
            Package.priority,
            Package.paper,
        ).where(Package.kind == "document", Package.received_at >= start, Package.received_at < end)
    )
    for sender, business, sig, promulgation, received_at, priority, paper in sent.all():
        r = row(sender)
        if business == revoke:
            r.revoked += 1
            continue
        if business == BusinessDocType.UPDATE:
            r.sent_update += 1
        elif business == BusinessDocType.REPLACE:
            r.sent_replace += 1
        else:
            r.sent_new += 1
        r.sent += 1
        if paper is None:
            r.sent_paper_unknown += 1
        elif paper == 1:
            r.sent_with_paper += 1
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
        level = min(max(priority or 0, 0), len(PRIORITY_KEYS) - 1)
        key = PRIORITY_KEYS[level]
        setattr(r, key, getattr(r, key) + 1)

    not_revoke = (Package.business_type.is_(None)) | (Package.business_type != revoke)
    entered = func.coalesce(Delivery.entered_at, Delivery.delivered_at)
    copies = await session.execute(
        select(
            Delivery.recipient_code,
            Delivery.state,
            Delivery.queued_at,
            entered,
            Delivery.acknowledged_at,
            Package.signature_class,
            Package.paper,
        )
        .join(Package, Package.id == Delivery.package_id)
        .where(Delivery.kind == "document", not_revoke)
        .where(
            ((Delivery.queued_at >= start) & (Delivery.queued_at < end))
            | ((entered >= start) & (entered < end))
            | ((Delivery.acknowledged_at >= start) & (Delivery.acknowledged_at < end))
        )
    )
    for recipient, state, queued, arrived, acknowledged, sig, paper in copies.all():
        r = row(recipient)
        if start <= queued < end:
            if state == "pending":
                r.not_fetched += 1
            elif state == "failed":
                r.failed += 1
        if arrived is not None and start <= arrived < end and state in RECEIVED_STATES:
            r.received += 1
            if sig == SIGNED:
                r.received_signed += 1
            else:
                r.received_unsigned += 1
            if paper == 1:
                r.received_with_paper += 1
        if acknowledged is not None and start <= acknowledged < end:
            r.acknowledged += 1

    original = aliased(Package)
    status_time = BusinessStatus.status_at
    statuses = await session.execute(
        select(
            BusinessStatus.agency_code,
            BusinessStatus.sender_code,
            BusinessStatus.status_code,
            status_time,
            BusinessStatus.received_at,
            original.received_at,
        )
        .outerjoin(original, original.id == BusinessStatus.original_package_id)
        .where(
            BusinessStatus.status_code.in_(tuple(STATUS_KEYS)),
            BusinessStatus.received_at >= start,
            BusinessStatus.received_at < end,
        )
    )
    for agency, sender, code, at, received_at, arrived in statuses.all():
        r = row(agency or sender)
        key = STATUS_KEYS[code]
        setattr(r, key, getattr(r, key) + 1)
        if key == "done" and arrived is not None:
            finished = max(at or received_at, arrived)
            r.hours_to_done.append((finished - arrived).total_seconds() / 3600)
            working = calendar.working_time_between(arrived, finished)
            r.working_hours_to_done.append(working.total_seconds() / 3600)

    ordered = [rows[c] for c in sorted(rows)]
    total = AgencyPeriod(TOTAL, "Toàn tỉnh")
    for r in ordered:
        for key in COUNTS:
            setattr(total, key, getattr(total, key) + getattr(r, key))
        total.hours_to_done.extend(r.hours_to_done)
        total.working_hours_to_done.extend(r.working_hours_to_done)
    for r in [*ordered, total]:
        r.median_hours_to_done = _median(r.hours_to_done)
        r.median_working_hours_to_done = _median(r.working_hours_to_done)
    incidents = await _incidents(session, calendar, start, end, now)
    return PeriodReport(label, first, nxt, ordered, total, now.astimezone(UTC), incidents)


async def _incidents(
    session: AsyncSession, calendar: OfficeCalendar, start: datetime, end: datetime, now: datetime
) -> list[IncidentLine]:
    """The outage incidents overlapping [start, end), oldest first (gateway.outages.report)."""
    from ..db import show_time
    from ..outages.report import entry_for
    from ..outages.repository import OutageRepository

    repo = OutageRepository(session)
    found = await repo.incidents(start=start, end=end)
    names = await repo.agency_names({i.target for i in found})
    lines = []
    for incident in reversed(found):
        e = await entry_for(repo, incident, calendar, now, names, with_copies=False)
        lines.append(
            IncidentLine(
                id=e.id,
                kind=e.kind,
                target=e.target,
                agency_name=e.agency_name,
                started_at=show_time(e.started_at),
                closed_at=show_time(e.closed_at) if e.closed_at else None,
                hours=round(e.duration_seconds / 3600, 2),
                working_hours=round(e.working_seconds / 3600, 2),
                affected=incident.affected,
            )
        )
    return lines
