"""Office hours and the legal receipt time of a document. Pure: no I/O, no clock.

A document that reaches an agency outside office hours counts as received at the start of the
next office period. Holidays change every year (Tết moves with the lunar calendar, compensatory
days are announced yearly), so they always come from configuration, for example::

    calendar = OfficeCalendar.from_config(
        periods="07:30-11:30,13:30-17:00",
        weekdays="mon-fri",
        # illustrative only — take the real list from the government's yearly notice
        holidays="2026-01-01,2026-02-16,2026-02-17,2026-02-18,2026-02-19,2026-02-20,"
        "2026-04-30,2026-05-01",
        extra_working_days="",  # compensatory Saturdays, if any
    )
    received = calendar.legal_receipt_time(arrived_at)   # aware UTC datetime

Every function takes timezone-aware datetimes (any zone) and returns aware datetimes in UTC,
because callers store UTC. Office periods are wall-clock times in the calendar's zone; periods
are half-open, [start, end): a document arriving exactly at 17:00 is received next morning.
The arithmetic assumes the zone has no DST jump inside office hours (true for Vietnam).

Vietnam's public holidays (Tết and Hùng Kings included, from the `holidays` package, see
gateway.public_holidays) come with `public_holidays="VN"`; what the government announces each
year (compensatory days off, working Saturdays), a province's own days and summer/winter office
hours (`Season`) are laid on top with `with_changes` (operators manage them: gateway.workdays).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .edxml.timefmt import VIETNAM

__all__ = ["VIETNAM", "OfficeCalendar", "Season"]


DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 30), time(17, 0)),
)
MONDAY_TO_FRIDAY = frozenset(range(5))
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?$")


def _aware(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")
    return moment


@dataclass(frozen=True, slots=True)
class Season:
    """Office periods for a part of every year (summer or winter hours): from `first` to `last`
    (month, day), both included; a season may wrap the year end (e.g. (10, 15) to (4, 14))."""

    first: tuple[int, int]
    last: tuple[int, int]
    periods: tuple[tuple[time, time], ...]

    def __post_init__(self) -> None:
        for month, day in (self.first, self.last):
            date(2024, month, day)  # a leap year: 29 February is a valid bound; ValueError else
        object.__setattr__(self, "periods", tuple((s, e) for s, e in self.periods))
        _check_periods(self.periods)

    def covers(self, d: date) -> bool:
        key = (d.month, d.day)
        if self.first <= self.last:
            return self.first <= key <= self.last
        return key >= self.first or key <= self.last

    @classmethod
    def parse(cls, first: str, last: str, periods: str | Iterable[str]) -> Season:
        """From "MM-DD", "MM-DD" and "HH:MM-HH:MM,…"; ValueError naming the bad value."""
        return cls(
            first=_parse_month_day(first),
            last=_parse_month_day(last),
            periods=tuple(_parse_period(item) for item in _items(periods)),
        )


@dataclass(frozen=True, slots=True)
class OfficeCalendar:
    """When an agency is open.

    `weekdays` uses Python numbering (Monday = 0). `extra_working_days` are dates that are
    working days although they fall on a non-working weekday (compensatory Saturdays).
    A date may not be both a holiday and an extra working day.
    """

    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    periods: tuple[tuple[time, time], ...] = DEFAULT_PERIODS
    holidays: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()
    zone: tzinfo = field(default=VIETNAM)
    seasons: tuple[Season, ...] = ()  # the first season covering a day gives its periods

    def __post_init__(self) -> None:
        # Accept any iterable but store immutable values so the calendar stays hashable.
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        object.__setattr__(self, "periods", tuple((s, e) for s, e in self.periods))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "extra_working_days", frozenset(self.extra_working_days))
        object.__setattr__(self, "seasons", tuple(self.seasons))
        if not self.weekdays <= set(range(7)):
            raise ValueError(f"weekdays must be 0 (Monday) to 6 (Sunday): {sorted(self.weekdays)}")
        _check_periods(self.periods)
        if both := self.holidays & self.extra_working_days:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates are both a holiday and an extra working day: {days}")
        if not self.weekdays and not self.extra_working_days:
            raise ValueError("the calendar has no working day at all")

    @classmethod
    def from_config(
        cls,
        *,
        periods: str | Iterable[str] = "07:30-11:30,13:30-17:00",
        weekdays: str | Iterable[str] = "mon-fri",
        holidays: str | Iterable[str | date] = (),
        extra_working_days: str | Iterable[str | date] = (),
        timezone: str = "Asia/Ho_Chi_Minh",
        public_holidays: str = "",
    ) -> OfficeCalendar:
        """Build from plain settings values (what a pydantic-settings class holds).

        periods: "HH:MM-HH:MM" items; weekdays: names or ranges ("mon-fri", "mon,tue,sat");
        holidays / extra_working_days: ISO dates. A string is split on commas and whitespace,
        so "a,b" and ["a", "b"] mean the same. public_holidays: a country code ("VN") whose
        public holidays and working weekend days come first, the listed dates override them.
        Raises ValueError naming the bad value.
        """
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone: {timezone!r}") from exc
        days_off = frozenset(_parse_date(item, "holiday") for item in _items(holidays))
        working = frozenset(
            _parse_date(item, "extra working day") for item in _items(extra_working_days)
        )
        if both := days_off & working:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates are both a holiday and an extra working day: {days}")
        base = cls(
            weekdays=frozenset(_parse_weekdays(_items(weekdays))),
            periods=tuple(_parse_period(item) for item in _items(periods)),
            zone=zone,
        )
        if public_holidays.strip():
            from .public_holidays import country_days  # the package is only loaded when used

            official = country_days(public_holidays.strip())
            base = base.with_changes(days_off=official.days_off, working_days=official.working)
        return base.with_changes(days_off=days_off, working_days=working)

    def with_changes(
        self,
        *,
        days_off: Iterable[date] = (),
        working_days: Iterable[date] = (),
        seasons: Iterable[Season] = (),
    ) -> OfficeCalendar:
        """A copy with later decisions laid on top: a day off here cancels an extra working day
        there and the reverse; `seasons` come before the existing ones (they win)."""
        off, work = frozenset(days_off), frozenset(working_days)
        if both := off & work:
            days = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates are both a holiday and an extra working day: {days}")
        return replace(
            self,
            holidays=(self.holidays - work) | off,
            extra_working_days=(self.extra_working_days - off) | work,
            seasons=(*seasons, *self.seasons),
        )

    def holidays_in(self, year: int) -> list[date]:
        """The holidays (days off) of `year`, in order."""
        return sorted(d for d in self.holidays if d.year == year)

    def periods_on(self, d: date) -> tuple[tuple[time, time], ...]:
        """Office periods of day `d`: a season's (summer/winter hours) or the default."""
        for season in self.seasons:
            if season.covers(d):
                return season.periods
        return self.periods

    # ----------------------------------------------------------------- questions about days

    def is_working_day(self, d: date) -> bool:
        if d in self.holidays:
            return False
        return d in self.extra_working_days or d.weekday() in self.weekdays

    def is_office_time(self, moment: datetime) -> bool:
        local = _aware(moment).astimezone(self.zone)
        if not self.is_working_day(local.date()):
            return False
        wall = local.time()
        return any(start <= wall < end for start, end in self.periods_on(local.date()))

    # --------------------------------------------------------------------------- moments

    def legal_receipt_time(self, moment: datetime) -> datetime:
        """`moment` if it is office time, else the start of the next office period (UTC)."""
        moment = _aware(moment)
        # The first period that ends after `moment` either contains it or is the next one.
        start, _ = next(self._intervals_from(moment))
        return max(start, moment.astimezone(UTC))

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest moment (UTC) by which `duration` of office time has passed since `start`.

        A duration that ends exactly at the end of a period gives that end (e.g. 17:00), not the
        next morning; a zero duration gives `start` itself.
        """
        start = _aware(start).astimezone(UTC)
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative: {duration}")
        if not duration:
            return start
        remaining = duration
        for period_start, period_end in self._intervals_from(start):
            begin = max(period_start, start)
            available = period_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _intervals_from never ends")  # pragma: no cover

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Office time elapsed from `a` to `b`; negative when `b` is before `a`."""
        a, b = _aware(a).astimezone(UTC), _aware(b).astimezone(UTC)
        if b < a:
            return -self.working_time_between(b, a)
        total = timedelta(0)
        for period_start, period_end in self._intervals_from(a):
            if period_start >= b:
                break
            total += min(period_end, b) - max(period_start, a)
        return total

    def next_working_morning(self, d: date) -> tuple[datetime, datetime]:
        """(start, end) in UTC of the first office period of the first working day after `d`.

        Used by the "sent by the morning of the next working day" rule: the caller decides
        whether the deadline is the start or the end of that period.
        """
        day = self._next_working_day(d)
        return self._interval(day, *self.periods_on(day)[0])

    # ------------------------------------------------------------------------- internals

    def _interval(self, day: date, start: time, end: time) -> tuple[datetime, datetime]:
        return (
            datetime.combine(day, start, tzinfo=self.zone).astimezone(UTC),
            datetime.combine(day, end, tzinfo=self.zone).astimezone(UTC),
        )

    def _next_working_day(self, d: date) -> date:
        """First working day strictly after `d`; ValueError if the calendar runs out of them."""
        if not self.weekdays:  # only extra working days: a finite list
            later = [x for x in self.extra_working_days if x > d]
            if not later:
                raise ValueError(f"no working day configured after {d.isoformat()}")
            return min(later)
        # Holidays are finite, so a working weekday turns up within len(holidays) + 7 days.
        day = d
        for _ in range(len(self.holidays) + 8):
            day += timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise AssertionError("unreachable: holidays are finite")  # pragma: no cover

    def _intervals_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Office periods (UTC, in order) that end after `moment`, without end."""
        day = moment.astimezone(self.zone).date()
        if not self.is_working_day(day):
            day = self._next_working_day(day)
        while True:
            for start, end in self.periods_on(day):
                interval = self._interval(day, start, end)
                if interval[1] > moment:
                    yield interval
            day = self._next_working_day(day)


def _check_periods(periods: tuple[tuple[time, time], ...]) -> None:
    if not periods:
        raise ValueError("at least one office period is required")
    previous_end: time | None = None
    for start, end in periods:
        if not isinstance(start, time) or not isinstance(end, time):
            raise ValueError(f"office periods must be (time, time) pairs: {(start, end)!r}")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("office period times are wall-clock times: give them without tzinfo")
        if end <= start:
            raise ValueError(f"office period ends before it starts: {start:%H:%M}-{end:%H:%M}")
        if previous_end is not None and start < previous_end:
            raise ValueError(
                f"office periods must be sorted and must not overlap: {start:%H:%M} starts "
                f"before the previous period ends at {previous_end:%H:%M}"
            )
        previous_end = end


def _items(value: str | Iterable[str | date]) -> list[str | date]:
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,]+", value) if part]
    items = [v.strip() if isinstance(v, str) else v for v in value]
    return [v for v in items if v != ""]


def _parse_time(text: str, period: str) -> time:
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"bad time {text!r} in office period {period!r} (expected HH:MM)")
    try:
        return time(int(m[1]), int(m[2]), int(m[3] or 0))
    except ValueError as exc:
        raise ValueError(f"bad time {text!r} in office period {period!r}: {exc}") from None


def _parse_period(item: str | date) -> tuple[time, time]:
    text = str(item)
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"bad office period {text!r} (expected HH:MM-HH:MM)")
    return _parse_time(start, text), _parse_time(end, text)


def _weekday(name: str) -> int:
    key = name.strip().lower()
    for number, full in enumerate(_WEEKDAY_NAMES):
        if key in (full, full[:3]):
            return number
    raise ValueError(f"unknown weekday {name!r} (use mon, tue, wed, thu, fri, sat, sun)")


def _parse_weekdays(items: list[str | date]) -> set[int]:
    days: set[int] = set()
    for item in items:
        text = str(item)
        first, sep, last = text.partition("-")
        if not sep:
            days.add(_weekday(first))
            continue
        lo, hi = _weekday(first), _weekday(last)
        if hi < lo:
            raise ValueError(f"weekday range runs backwards: {text!r}")
        days.update(range(lo, hi + 1))
    return days


def _parse_month_day(text: str) -> tuple[int, int]:
    month, sep, day = str(text).strip().partition("-")
    try:
        if not sep:
            raise ValueError
        value = (int(month), int(day))
        date(2024, *value)
    except ValueError:
        raise ValueError(f"bad day of the year {text!r} (expected MM-DD)") from None
    return value


def _parse_date(item: str | date, what: str) -> date:
    if isinstance(item, date) and not isinstance(item, datetime):
        return item
    try:
        return date.fromisoformat(str(item))
    except ValueError:
        raise ValueError(f"bad {what} date {item!r} (expected YYYY-MM-DD)") from None
