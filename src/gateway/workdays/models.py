"""The table of operators' calendar changes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, UTCDateTime, utcnow

KINDS = ("day_off", "working_day", "office_hours")


class CalendarChange(Base):
    """One decision: `day_off` / `working_day` on `day` (one decision per day), or
    `office_hours` (`periods`) every year from `first_day` to `last_day` ("MM-DD")."""

    __tablename__ = "calendar_changes"
    __table_args__ = (
        CheckConstraint("kind IN ('day_off', 'working_day', 'office_hours')", name="kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))
    day: Mapped[date | None] = mapped_column(Date, unique=True)
    first_day: Mapped[str | None] = mapped_column(String(5))
    last_day: Mapped[str | None] = mapped_column(String(5))
    periods: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
