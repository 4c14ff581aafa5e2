"""API shapes of calendar changes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CalendarChangeIn(BaseModel):
    """`day_off` / `working_day` need `day`; `office_hours` needs `first_day`, `last_day`
    ("MM-DD", both included, may wrap the year end) and `periods` ("HH:MM-HH:MM,…")."""

    kind: Literal["day_off", "working_day", "office_hours"]
    day: date | None = None
    first_day: str | None = Field(default=None, max_length=5, examples=["04-15"])
    last_day: str | None = Field(default=None, max_length=5, examples=["10-14"])
    periods: str | None = Field(default=None, max_length=200, examples=["07:00-11:30,13:00-16:30"])
    note: str = Field(default="", max_length=500, examples=["Nghỉ bù Quốc khánh"])

    @model_validator(mode="after")
    def _complete(self) -> CalendarChangeIn:
        if self.kind == "office_hours":
            if not (self.first_day and self.last_day and self.periods):
                raise ValueError("office_hours needs first_day, last_day and periods")
        elif self.day is None:
            raise ValueError(f"{self.kind} needs day")
        return self


class CalendarChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    day: date | None
    first_day: str | None
    last_day: str | None
    periods: str | None
    note: str
    created_at: datetime
    created_by: str


class CalendarDay(BaseModel):
    day: date
    name: str
    source: Literal["public", "settings", "operator"]


class CalendarYear(BaseModel):
    """The effective calendar of one year: days off, working weekend days, office hours."""

    year: int
    public_holidays: str
    days_off: list[CalendarDay]
    working_days: list[CalendarDay]
    office_periods: str
    changes: list[CalendarChangeOut]
