"""Tables of outage tracking: the health of each push target, and the incidents.

A *target* is what the gateway pushes to: an agency (its code) or the gateway's own upstream
link to the national axis (`UPSTREAM`). `endpoint_health` has at most one row per target,
written in the same transaction as each push result, so every worker process and replica sees
the same picture (the circuit breaker is only per process). `outage_incidents` holds one row
per outage that lasted longer than the threshold; at most one is open (`closed_at` NULL) per
target.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime
from ..delivery.models import BigId

UPSTREAM = "upstream"
"""The target key of the link to the national axis (an agency code never looks like it)."""


KINDS = ("agency", "upstream")


def kind_of(target: str) -> str:
    return "upstream" if target == UPSTREAM else "agency"


class EndpointHealth(Base):
    """How a target's pushes are going (gateway.outages.health): `failing_since` is set by the
    first transient failure after a success and cleared by the next success, which is then
    `recovered_at`. `last_failure_at` and `last_error` are those of the latest failure."""

    __tablename__ = "endpoint_health"

    target: Mapped[str] = mapped_column(String(35), primary_key=True)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    recovered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutageIncident(Base):
    """An outage longer than the threshold. `started_at` is when the target started failing;
    `opened_at` when the monitor raised the incident; `closed_at` the first success after it.
    Durations are kept both as wall-clock seconds and as working seconds (office calendar).
    `affected`: copies for the target that were waiting at some point of the incident."""

    __tablename__ = "outage_incidents"
    __table_args__ = (
        CheckConstraint("kind IN ('agency', 'upstream')", name="kind"),
        Index("ix_outage_incidents_target_closed", "target", "closed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    target: Mapped[str] = mapped_column(String(35))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    working_seconds: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    affected: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def agency_code(self) -> str | None:
        return self.target if self.kind == "agency" else None
