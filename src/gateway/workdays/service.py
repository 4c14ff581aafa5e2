"""Rules of calendar changes (never commits) and loading the effective calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..calendar import OfficeCalendar, Season
from ..db import utcnow
from ..errors import GatewayError, NotFound
from ..settings import Settings
from .models import CalendarChange


class CalendarChangeInvalid(GatewayError):
    status_code = 422
    code = "CALENDAR_CHANGE_INVALID"
    default_message = "Thay đổi lịch làm việc không hợp lệ"
    description = "A calendar change names a bad date, day of the year or office period"


class CalendarDayTaken(GatewayError):
    status_code = 409
    code = "CALENDAR_DAY_TAKEN"
    default_message = "Ngày này đã có quyết định khác trong lịch làm việc"
    description = "The day already has a calendar change: remove it first"


class CalendarWithoutHolidays(RuntimeError):
    """Production refuses to start: no public holiday for the current year."""


DayKind = Literal["day_off", "working_day"]


class CalendarChanges:
    """Add, list and remove operators' changes; each one audited under `actor`."""

    def __init__(self, session: AsyncSession, actor: str, *, clock: Any = utcnow) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock
        self.audit = AuditLog(session)

    async def list(self) -> list[CalendarChange]:
        rows = await self.session.scalars(select(CalendarChange).order_by(CalendarChange.id))
        return list(rows)

    async def add_day(self, kind: DayKind, day: date, note: str = "") -> CalendarChange:
        if kind not in ("day_off", "working_day"):
            raise CalendarChangeInvalid(f"Loại thay đổi không hợp lệ: {kind!r}")
        taken = await self.session.scalar(select(CalendarChange).where(CalendarChange.day == day))
        if taken is not None:
            raise CalendarDayTaken(
                f"Ngày {day.isoformat()} đã có thay đổi #{taken.id} ({taken.kind})",
                details={"id": taken.id, "kind": taken.kind},
            )
        return await self._add(CalendarChange(kind=kind, day=day, note=note.strip()))

    async def add_office_hours(
        self, first_day: str, last_day: str, periods: str, note: str = ""
    ) -> CalendarChange:
        try:
            season = Season.parse(first_day, last_day, periods)
        except ValueError as exc:
            raise CalendarChangeInvalid(f"Giờ làm việc theo mùa không hợp lệ: {exc}") from None
        change = CalendarChange(
            kind="office_hours",
            first_day=_month_day(season.first),
            last_day=_month_day(season.last),
            periods=",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in season.periods),
            note=note.strip(),
        )
        return await self._add(change)

    async def remove(self, change_id: int) -> CalendarChange:
        change = await self.session.get(CalendarChange, change_id)
        if change is None:
            raise NotFound(f"Không có thay đổi lịch #{change_id}")
        await self.audit.append(
            "calendar.change_removed",
            actor=self.actor,
            subject=f"calendar:{change.id}",
            data=describe(change),
            at=self.clock(),
        )
        await self.session.delete(change)
        await self.session.flush()
        return change

    async def _add(self, change: CalendarChange) -> CalendarChange:
        change.created_by = self.actor
        change.created_at = self.clock()
        self.session.add(change)
        await self.session.flush()
        await self.audit.append(
            "calendar.change_added",
            actor=self.actor,
            subject=f"calendar:{change.id}",
            data=describe(change),
            at=change.created_at,
        )
        return change


def describe(change: CalendarChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "kind": change.kind,
        "day": change.day.isoformat() if change.day else None,
        "first_day": change.first_day,
        "last_day": change.last_day,
        "periods": change.periods,
        "note": change.note,
    }


def apply_changes(base: OfficeCalendar, changes: list[CalendarChange]) -> OfficeCalendar:
    """`base` with the changes on top; among seasons the newest wins where they overlap."""
    seasons = [
        Season.parse(c.first_day or "", c.last_day or "", c.periods or "")
        for c in sorted(changes, key=lambda c: c.id, reverse=True)
        if c.kind == "office_hours"
    ]
    return base.with_changes(
        days_off=[c.day for c in changes if c.kind == "day_off" and c.day],
        working_days=[c.day for c in changes if c.kind == "working_day" and c.day],
        seasons=seasons,
    )


async def load_calendar(session: AsyncSession, settings: Settings) -> OfficeCalendar:
    """The effective calendar: settings (public holidays, configured dates) + operators'."""
    changes = list(await session.scalars(select(CalendarChange)))
    return apply_changes(settings.office_calendar(), changes)


def require_holidays(calendar: OfficeCalendar, settings: Settings, now: datetime) -> None:
    """Production refuses a calendar with no holiday in the current year (local time)."""
    if settings.environment != "production":
        return
    year = now.astimezone(calendar.zone).year
    if not calendar.holidays_in(year):
        raise CalendarWithoutHolidays(
            f"refusing to start in production: the office calendar has no holiday in {year} "
            "(set GATEWAY_OFFICE_PUBLIC_HOLIDAYS=VN or add the year's days off: "
            "`gateway calendar add-day-off`)"
        )


def _month_day(value: tuple[int, int]) -> str:
    return f"{value[0]:02d}-{value[1]:02d}"


def year_view(
    calendar: OfficeCalendar, settings: Settings, changes: list[CalendarChange], year: int
) -> dict[str, Any]:
    """The effective days off and working weekend days of `year`, each with its name and
    where it comes from (public holiday, settings, operator), for the API and dashboard."""
    names: dict[date, str] = {}
    public: set[date] = set()
    if settings.office_public_holidays.strip():
        from ..public_holidays import country_days

        official = country_days(settings.office_public_holidays)
        names.update(official.names)
        public = set(official.days_off) | set(official.working)
    by_day = {c.day: c for c in changes if c.day}

    def entry(day: date, default: str) -> dict[str, Any]:
        change = by_day.get(day)
        if change is not None:
            return {"day": day, "name": change.note or default, "source": "operator"}
        source = "public" if day in public else "settings"
        return {"day": day, "name": names.get(day, default), "source": source}

    weekend_work = [
        d
        for d in calendar.extra_working_days
        if d.year == year and d.weekday() not in calendar.weekdays
    ]
    return {
        "year": year,
        "public_holidays": settings.office_public_holidays,
        "days_off": [entry(d, "Ngày nghỉ") for d in calendar.holidays_in(year)],
        "working_days": [entry(d, "Ngày làm việc bù") for d in sorted(weekend_work)],
        "office_periods": ",".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in calendar.periods),
        "changes": changes,
    }
