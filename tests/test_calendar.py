"""Office hours and legal receipt time (gateway.calendar)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.calendar import VIETNAM, OfficeCalendar

# A Tết-like holiday run for the tests: Mon 16 – Fri 20 Feb 2026 (with weekends, 14–22 Feb).
TET_2026 = [date(2026, 2, 16) + timedelta(days=i) for i in range(5)]
COMPENSATORY_SATURDAY = date(2026, 1, 10)

CAL = OfficeCalendar(holidays=frozenset(TET_2026), extra_working_days={COMPENSATORY_SATURDAY})


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=VIETNAM)


def utc_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------- configuration


def test_defaults_are_vietnamese_office_hours() -> None:
    cal = OfficeCalendar()
    assert cal.weekdays == frozenset(range(5))
    assert cal.periods == ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    assert cal.zone == ZoneInfo("Asia/Ho_Chi_Minh")


def test_from_config_parses_simple_values() -> None:
    cal = OfficeCalendar.from_config(
        periods="07:30-11:30, 13:30-17:00",
        weekdays="mon-fri",
        holidays="2026-02-16,2026-02-17",
        extra_working_days=["2026-01-10"],
    )
    assert cal.periods == OfficeCalendar().periods
    assert cal.weekdays == frozenset(range(5))
    assert cal.holidays == {date(2026, 2, 16), date(2026, 2, 17)}
    assert cal.extra_working_days == {date(2026, 1, 10)}
    assert OfficeCalendar.from_config(weekdays="Mon,tuesday,sat").weekdays == {0, 1, 5}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"periods": "13:30-17:00,07:30-11:30"}, "sorted"),
        ({"periods": "07:30-12:00,11:30-17:00"}, "overlap"),
        ({"periods": "17:00-07:30"}, "ends before it starts"),
        ({"periods": "07:30-07:30"}, "ends before it starts"),
        ({"periods": "07:30"}, "HH:MM-HH:MM"),
        ({"periods": "7h30-11:30"}, "bad time"),
        ({"periods": "25:00-26:00"}, "bad time"),
        ({"periods": ""}, "at least one"),
        ({"weekdays": "mon-funday"}, "unknown weekday"),
        ({"weekdays": "fri-mon"}, "backwards"),
        ({"weekdays": ""}, "no working day"),
        ({"holidays": "2026-02-30"}, "bad holiday date"),
        ({"extra_working_days": "10/01/2026"}, "bad extra working day date"),
        ({"holidays": "2026-01-10", "extra_working_days": "2026-01-10"}, "both"),
        ({"timezone": "Asia/Hanoi_Nowhere"}, "unknown time zone"),
    ],
)
def test_from_config_rejects_bad_values(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        OfficeCalendar.from_config(**kwargs)


def test_is_working_day() -> None:
    assert CAL.is_working_day(date(2026, 2, 13))  # Friday
    assert not CAL.is_working_day(date(2026, 2, 14))  # Saturday
    assert not CAL.is_working_day(date(2026, 2, 17))  # Tết, a Tuesday
    assert CAL.is_working_day(COMPENSATORY_SATURDAY)
    assert not CAL.is_working_day(date(2026, 1, 17))  # an ordinary Saturday


def test_is_office_time() -> None:
    assert CAL.is_office_time(vn(2026, 3, 2, 7, 30))
    assert CAL.is_office_time(vn(2026, 3, 2, 11, 29, 59))
    assert not CAL.is_office_time(vn(2026, 3, 2, 11, 30))
    assert not CAL.is_office_time(vn(2026, 3, 2, 12, 0))
    assert not CAL.is_office_time(vn(2026, 3, 2, 17, 0))
    assert CAL.is_office_time(vn(2026, 1, 10, 9, 0))  # compensatory Saturday


# ------------------------------------------------------------------------ legal receipt time


@pytest.mark.parametrize(
    ("arrived", "received"),
    [
        (vn(2026, 3, 6, 19, 45), vn(2026, 3, 9, 7, 30)),  # Friday evening → Monday
        (vn(2026, 3, 7, 10, 0), vn(2026, 3, 9, 7, 30)),  # Saturday → Monday
        (vn(2026, 3, 2, 12, 0), vn(2026, 3, 2, 13, 30)),  # lunch break
        (vn(2026, 3, 2, 11, 30), vn(2026, 3, 2, 13, 30)),  # end of morning is exclusive
        (vn(2026, 3, 2, 17, 0), vn(2026, 3, 3, 7, 30)),  # end of day is exclusive
        (vn(2026, 3, 2, 7, 30), vn(2026, 3, 2, 7, 30)),  # start is inclusive
        (vn(2026, 3, 2, 6, 0), vn(2026, 3, 2, 7, 30)),  # early morning
        (vn(2026, 3, 2, 9, 15, 42), vn(2026, 3, 2, 9, 15, 42)),  # inside: itself
        (vn(2026, 2, 13, 18, 0), vn(2026, 2, 23, 7, 30)),  # eve of the Tết run
        (vn(2026, 2, 18, 10, 0), vn(2026, 2, 23, 7, 30)),  # in the middle of Tết
        (vn(2026, 1, 9, 17, 30), vn(2026, 1, 10, 7, 30)),  # → compensatory Saturday
    ],
)
def test_legal_receipt_time(arrived: datetime, received: datetime) -> None:
    result = CAL.legal_receipt_time(arrived)
    assert result == received
    assert result.tzinfo is UTC


def test_input_in_utc_and_other_zones() -> None:
    # 2026-03-06 12:45 UTC is Friday 19:45 in Vietnam.
    expected = vn(2026, 3, 9, 7, 30)
    assert CAL.legal_receipt_time(datetime(2026, 3, 6, 12, 45, tzinfo=UTC)) == expected
    paris = datetime(2026, 3, 6, 13, 45, tzinfo=ZoneInfo("Europe/Paris"))
    assert CAL.legal_receipt_time(paris) == expected
    tokyo = datetime(2026, 3, 6, 21, 45, tzinfo=timezone(timedelta(hours=9)))
    assert CAL.legal_receipt_time(tokyo) == expected
    # 01:00 UTC on Monday is 08:00 in Vietnam: office time, though the UTC date is the same.
    inside = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)
    assert CAL.legal_receipt_time(inside) == inside
    # 23:30 UTC on Sunday is already 06:30 Monday in Vietnam.
    assert CAL.legal_receipt_time(datetime(2026, 3, 8, 23, 30, tzinfo=UTC)) == expected


def test_other_calendar_zone() -> None:
    cal = OfficeCalendar(zone=UTC, periods=((time(9), time(17)),))
    assert cal.legal_receipt_time(datetime(2026, 3, 2, 8, tzinfo=UTC)) == datetime(
        2026, 3, 2, 9, tzinfo=UTC
    )


def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.legal_receipt_time(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.is_office_time(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_time(naive, timedelta(hours=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_time_between(naive, vn(2026, 3, 2))


def test_only_extra_working_days_can_run_out() -> None:
    cal = OfficeCalendar(weekdays=frozenset(), extra_working_days={date(2026, 1, 10)})
    assert cal.legal_receipt_time(vn(2026, 1, 1)) == vn(2026, 1, 10, 7, 30)
    with pytest.raises(ValueError, match="no working day"):
        cal.legal_receipt_time(vn(2026, 1, 11))


# ---------------------------------------------------------------------------- working time


def test_add_working_time() -> None:
    friday_4pm = vn(2026, 3, 6, 16, 0)
    assert CAL.add_working_time(friday_4pm, timedelta(hours=4)) == vn(2026, 3, 9, 10, 30)
    # Lunch is skipped; ending exactly at a period end gives that end, not the next start.
    assert CAL.add_working_time(vn(2026, 3, 2, 10), timedelta(hours=2)) == vn(2026, 3, 2, 14)
    assert CAL.add_working_time(vn(2026, 3, 2, 10), timedelta(hours=1.5)) == vn(2026, 3, 2, 11, 30)
    # From outside office hours the clock starts at the next period.
    assert CAL.add_working_time(vn(2026, 2, 13, 20), timedelta(hours=1)) == vn(2026, 2, 23, 8, 30)
    assert CAL.add_working_time(vn(2026, 3, 7), timedelta(0)) == vn(2026, 3, 7)
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(vn(2026, 3, 2), timedelta(seconds=-1))


def test_working_time_between() -> None:
    full_day = timedelta(hours=7, minutes=30)
    assert CAL.working_time_between(vn(2026, 3, 2), vn(2026, 3, 3)) == full_day
    assert CAL.working_time_between(vn(2026, 3, 6, 16), vn(2026, 3, 9, 8)) == timedelta(hours=1.5)
    assert CAL.working_time_between(vn(2026, 2, 13, 17), vn(2026, 2, 23, 7, 30)) == timedelta(0)
    assert CAL.working_time_between(vn(2026, 3, 3), vn(2026, 3, 2)) == -full_day


def test_next_working_morning() -> None:
    start, end = CAL.next_working_morning(date(2026, 3, 6))  # Friday
    assert (start, end) == (vn(2026, 3, 9, 7, 30), vn(2026, 3, 9, 11, 30))
    assert start.tzinfo is UTC
    assert CAL.next_working_morning(date(2026, 2, 13))[0] == vn(2026, 2, 23, 7, 30)
    assert CAL.next_working_morning(date(2026, 3, 2))[0] == vn(2026, 3, 3, 7, 30)


# ------------------------------------------------------------------------------ properties

moments = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2026, 4, 30),
    timezones=st.sampled_from([UTC, VIETNAM, ZoneInfo("America/New_York")]),
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))


@given(moments, moments)
def test_legal_receipt_time_is_monotonic(a: datetime, b: datetime) -> None:
    a, b = sorted((a, b))
    assert CAL.legal_receipt_time(a) <= CAL.legal_receipt_time(b)


@given(moments)
def test_legal_receipt_time_is_idempotent_and_in_office(x: datetime) -> None:
    received = CAL.legal_receipt_time(x)
    assert received >= x
    assert CAL.is_office_time(received)
    assert CAL.legal_receipt_time(received) == received
    assert CAL.is_office_time(x) == (received == x)


@settings(max_examples=200)
@given(moments, durations)
def test_add_and_between_agree(a: datetime, d: timedelta) -> None:
    end = CAL.add_working_time(a, d)
    assert CAL.working_time_between(a, end) == d
    # ...and `end` is the earliest such moment.
    if d:
        assert CAL.working_time_between(a, end - timedelta(microseconds=1)) < d


@given(moments, moments, moments)
def test_between_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert CAL.working_time_between(a, c) == (
        CAL.working_time_between(a, b) + CAL.working_time_between(b, c)
    )
