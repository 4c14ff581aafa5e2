"""edXML dates `yyyy/MM/dd` (sometimes `dd/MM/yyyy`) and local times without a zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DATE_FORMAT = "%Y/%m/%d"
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S"

_YMD = re.compile(r"^([0-9]{4})[/-]([0-9]{1,2})[/-]([0-9]{1,2})$")
_DMY = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")


def parse_date(text: str) -> tuple[date, bool]:
    """Parse an edXML date; returns (date, day_first). Raises ValueError if it is not a date."""
    value = text.strip()
    if m := _YMD.match(value):
        return date(int(m[1]), int(m[2]), int(m[3])), False
    if m := _DMY.match(value):
        return date(int(m[3]), int(m[2]), int(m[1])), True
    raise ValueError(f"not a date: {text!r}")


def parse_timestamp(text: str) -> datetime:
    """Parse `yyyy/MM/dd HH:mm:ss` (Vietnam local time) into an aware datetime."""
    return datetime.strptime(text.strip(), TIMESTAMP_FORMAT).replace(tzinfo=VIETNAM)


def format_timestamp(moment: datetime | None = None) -> str:
    """Format a moment as edXML local time (Vietnam), the form TraceHeader/Timestamp uses."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("format_timestamp needs an aware datetime")
    return moment.astimezone(VIETNAM).strftime(TIMESTAMP_FORMAT)


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()
