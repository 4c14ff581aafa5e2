"""A country's public holidays from the `holidays` package (pure computation, no I/O).

For Vietnam it knows the lunar holidays (Tết Nguyên Đán, Giỗ Tổ Hùng Vương), the observed days
when a holiday falls on a weekend, and the working Saturdays swapped for bridge days that it has
been told about. What the government announces later is added by operators (gateway.workdays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import holidays

YEARS = range(2000, 2101)
"""The years computed: wide enough for any document the gateway will see."""


@dataclass(frozen=True, slots=True)
class OfficialDays:
    days_off: frozenset[date]
    working: frozenset[date]  # weekend days that are working days (compensation)
    names: dict[date, str]  # Vietnamese names where the package has them


@lru_cache(maxsize=4)
def country_days(country: str) -> OfficialDays:
    """Raises ValueError for a country the package does not know."""
    code = country.strip().upper()
    try:
        cls = holidays.country_holidays(code).__class__
    except NotImplementedError:
        raise ValueError(f"unknown country for public holidays: {country!r}") from None
    language = "vi" if "vi" in (cls.supported_languages or ()) else None
    found = holidays.country_holidays(code, years=YEARS, language=language)
    return OfficialDays(
        days_off=frozenset(found),
        working=frozenset(found.weekend_workdays),
        names=dict(found.items()),
    )
