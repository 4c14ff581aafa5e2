"""The monthly report to the provincial People's Committee: the period report
(gateway.ops.period_report, where every counting rule lives) for one month, in the office
calendar's time zone (Vietnam time by default).

Its surfaces stay where they were — `gateway report monthly --month 2026-10`,
`GET /api/v1/admin/reports/monthly?month=…[&format=csv]` and the dashboard's Reports page — and
show the period report's columns (Vietnamese headings in CSV). Only the month's spelling is
checked here ("2026-10"); quarters and years go through `gateway report period`.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ..calendar import OfficeCalendar
from ..db import utcnow
from .period_report import (  # noqa: F401 (the rules' one place; re-exported for callers)
    SIGNED,
    TIME_BASIS,
    PeriodReport,
    parse_promulgation,
    period_report,
    timeliness,
)

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


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


async def monthly_report(
    session: AsyncSession, month: str, calendar: OfficeCalendar, *, now: datetime | None = None
) -> PeriodReport:
    parse_month(month)
    return await period_report(session, month.strip(), calendar, now=now or utcnow())
