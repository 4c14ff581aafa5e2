"""Vietnam's public holidays by default, operators' changes laid on top, seasonal office hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from gateway.calendar import VIETNAM, OfficeCalendar, Season
from gateway.settings import Settings

VN = OfficeCalendar.from_config(public_holidays="VN")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 1),  # Tết Dương lịch
        date(2026, 2, 17),  # Tết Nguyên Đán (lunar)
        date(2026, 4, 27),  # Giỗ Tổ Hùng Vương observed (lunar 10/3 fell on a Sunday)
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 9, 2),  # Quốc khánh
        date(2027, 2, 8),  # Tết 2027
    ],
)
def test_vietnam_public_holidays_are_days_off(day: date) -> None:
    assert not VN.is_working_day(day)


def test_national_day_moves_the_legal_receipt_time() -> None:
    # Tuesday 1 and Wednesday 2 September 2026 are National Day: next office period is Thursday
    received = VN.legal_receipt_time(local(2026, 9, 1, 9, 0))
    assert received == local(2026, 9, 3, 7, 30).astimezone(UTC)


def test_working_saturday_from_the_package() -> None:
    # 2026: Saturday 22 August is worked in exchange for Monday 31 August
    assert VN.is_working_day(date(2026, 8, 22))
    assert not VN.is_working_day(date(2026, 8, 31))


def test_settings_default_to_vietnam() -> None:
    assert not Settings().office_calendar().is_working_day(date(2026, 9, 2))
    assert Settings(office_public_holidays="").office_calendar().is_working_day(date(2026, 9, 2))


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown country"):
        Settings(office_public_holidays="XX")


def test_configured_dates_override_the_package() -> None:
    cal = OfficeCalendar.from_config(
        public_holidays="VN", extra_working_days="2026-08-31", holidays="2026-08-22,2026-09-30"
    )
    assert cal.is_working_day(date(2026, 8, 31))
    assert not cal.is_working_day(date(2026, 8, 22))
    assert not cal.is_working_day(date(2026, 9, 30))


def test_with_changes_later_decision_wins() -> None:
    cal = VN.with_changes(working_days=[date(2026, 9, 1)], days_off=[date(2026, 8, 22)])
    assert cal.is_working_day(date(2026, 9, 1))
    assert not cal.is_working_day(date(2026, 8, 22))
    assert date(2026, 9, 1) not in cal.holidays_in(2026)
    with pytest.raises(ValueError, match="both"):
        VN.with_changes(working_days=[date(2026, 9, 1)], days_off=[date(2026, 9, 1)])


def test_holidays_in_year() -> None:
    assert date(2026, 9, 2) in VN.holidays_in(2026)
    assert OfficeCalendar().holidays_in(2026) == []
    assert all(d.year == 2027 for d in VN.holidays_in(2027))


SUMMER = Season.parse("04-15", "10-14", "07:00-11:30,13:00-16:30")


def test_summer_hours_apply_inside_the_season_only() -> None:
    cal = OfficeCalendar().with_changes(seasons=[SUMMER])
    assert cal.periods_on(date(2026, 6, 1)) == ((time(7), time(11, 30)), (time(13), time(16, 30)))
    assert cal.periods_on(date(2026, 10, 15)) == cal.periods
    assert cal.is_office_time(local(2026, 6, 1, 7, 10))
    assert not cal.is_office_time(local(2026, 11, 2, 7, 10))
    # after 16:30 in summer: received next morning at 07:00
    assert cal.legal_receipt_time(local(2026, 6, 1, 16, 45)) == local(2026, 6, 2, 7).astimezone(UTC)


def test_season_across_the_year_end() -> None:
    winter = Season.parse("10-15", "04-14", "08:00-12:00,13:00-17:00")
    assert winter.covers(date(2026, 12, 31)) and winter.covers(date(2027, 1, 1))
    assert not winter.covers(date(2026, 6, 1))
    cal = OfficeCalendar().with_changes(seasons=[winter])
    _, end = cal.next_working_morning(date(2026, 12, 31))
    assert end == local(2027, 1, 1, 12).astimezone(UTC)


@pytest.mark.parametrize(
    ("first", "last", "periods", "message"),
    [
        ("13-01", "04-01", "07:00-11:00", "MM-DD"),
        ("02-30", "04-01", "07:00-11:00", "MM-DD"),
        ("01-01", "04-01", "11:00-07:00", "ends before"),
        ("0101", "04-01", "07:00-11:00", "MM-DD"),
    ],
)
def test_bad_seasons_are_refused(first: str, last: str, periods: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Season.parse(first, last, periods)
