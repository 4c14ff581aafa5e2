"""When a copy entered the recipient's system, and the legal receipt time that counts from it
(Khánh Hòa Art. 10.2): set once, by whichever comes first — the push endpoint's 2xx, the
recipient's first fetch (native or VXP), or its acknowledgement without a fetch."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ..calendar import OfficeCalendar
from .models import Delivery

EnteredVia = Literal["push", "fetch", "vxp", "ack"]


def mark_entered(
    delivery: Delivery, at: datetime, via: EnteredVia, calendar: OfficeCalendar
) -> bool:
    """Record the first arrival; later ones change nothing. True when this one was first."""
    if delivery.entered_at is not None:
        return False
    delivery.entered_at = at
    delivery.entered_via = via
    delivery.entered_legal_at = calendar.legal_receipt_time(at)
    return True
