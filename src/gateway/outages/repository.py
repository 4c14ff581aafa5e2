"""Queries of outage tracking: health rows, incidents, and the copies an incident affected."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..delivery.models import EndpointHealth, UpstreamForward
from ..edxml.codes import Priority
from ..packages.models import Delivery, Package
from ..registry.models import Agency
from .models import GATEWAY, UPSTREAM, OutageIncident, kind_of


@dataclass
class OutageFigures:
    """For the metrics: open incidents and all incidents per kind, durations of closed ones."""

    open: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    closed: list[tuple[str, int, int]] = field(default_factory=list)
    """(kind, wall-clock seconds, working seconds) of each closed incident."""


FLASH = int(Priority.FLASH)  # hỏa tốc; hỏa tốc hẹn giờ is above it


class OutageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- health -------------------------------------------------------------------------
    async def health_rows(self) -> list[EndpointHealth]:
        return list((await self.session.scalars(select(EndpointHealth))).all())

    async def health(self, target: str, *, lock: bool = False) -> EndpointHealth | None:
        query = select(EndpointHealth).where(EndpointHealth.target == target)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def pushed_to(self, code: str) -> bool:
        """Does the gateway push to this agency now? Only then can it have an outage."""
        found = await self.session.scalar(
            select(Agency.code).where(
                Agency.code == code,
                Agency.active.is_(True),
                Agency.delivery_mode == "push",
                Agency.endpoint_url.is_not(None),
            )
        )
        return found is not None

    # --- incidents ----------------------------------------------------------------------
    def add(self, incident: OutageIncident) -> None:
        self.session.add(incident)

    async def open_incident(
        self, target: str, *, kind: str | None = None, lock: bool = False
    ) -> OutageIncident | None:
        """The open incident of this kind (default: the push target's) for the target."""
        query = select(OutageIncident).where(
            OutageIncident.kind == (kind or kind_of(target)),
            OutageIncident.target == target,
            OutageIncident.closed_at.is_(None),
        )
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def open_incidents(self, kinds: tuple[str, ...] | None = None) -> list[OutageIncident]:
        query = select(OutageIncident).where(OutageIncident.closed_at.is_(None))
        if kinds is not None:
            query = query.where(OutageIncident.kind.in_(kinds))
        rows = await self.session.scalars(query.order_by(OutageIncident.started_at))
        return list(rows.all())

    async def recent_closed(self, limit: int) -> list[OutageIncident]:
        rows = await self.session.scalars(
            select(OutageIncident)
            .where(OutageIncident.closed_at.is_not(None))
            .order_by(OutageIncident.closed_at.desc(), OutageIncident.id.desc())
            .limit(limit)
        )
        return list(rows.all())

    async def incident(self, incident_id: int) -> OutageIncident | None:
        return await self.session.get(OutageIncident, incident_id)

    async def incidents(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        target: str | None = None,
        limit: int | None = None,
    ) -> list[OutageIncident]:
        """Incidents that overlap [start, end) (open ones reach to now), newest first."""
        query = select(OutageIncident)
        if end is not None:
            query = query.where(OutageIncident.started_at < end)
        if start is not None:
            query = query.where(
                or_(OutageIncident.closed_at.is_(None), OutageIncident.closed_at >= start)
            )
        if target:
            query = query.where(OutageIncident.target == target)
        query = query.order_by(OutageIncident.started_at.desc(), OutageIncident.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.scalars(query)).all())

    async def agency_names(self, codes: set[str]) -> dict[str, str]:
        if not codes:
            return {}
        rows = await self.session.execute(
            select(Agency.code, Agency.name).where(Agency.code.in_(list(codes)))
        )
        return {code: name for code, name in rows.all()}

    async def figures(self) -> OutageFigures:
        out = OutageFigures()
        rows = await self.session.execute(
            select(
                OutageIncident.kind,
                OutageIncident.closed_at,
                OutageIncident.duration_seconds,
                OutageIncident.working_seconds,
            )
        )
        for kind, closed_at, wall, working in rows.all():
            out.total[kind] += 1
            if closed_at is None:
                out.open[kind] += 1
            else:
                out.closed.append((kind, int(wall or 0), int(working or 0)))
        return out

    # --- the copies of a target -----------------------------------------------------------
    @staticmethod
    def _of_target(query: Select, target: str) -> Select:
        if target == UPSTREAM:  # copies for the national axis are those with a forward row
            return query.where(Delivery.id.in_(select(UpstreamForward.delivery_id)))
        if target == GATEWAY:  # the gateway itself was down: every copy waited
            return query
        return query.where(Delivery.recipient_code == target)

    def _affected(self, query: Select, incident: OutageIncident, end: datetime) -> Select:
        """Copies for the target that were waiting at some moment of [started_at, end): queued
        before the end, and not delivered, cancelled or given up on before the start."""
        start = incident.started_at
        return self._of_target(query, incident.target).where(
            Delivery.queued_at < end,
            or_(Delivery.delivered_at.is_(None), Delivery.delivered_at > start),
            or_(Delivery.cancelled_at.is_(None), Delivery.cancelled_at > start),
            not_(and_(Delivery.state == "failed", Delivery.updated_at < start)),
        )

    async def flash_waiting(self, target: str) -> bool:
        """Is a hỏa tốc / hỏa tốc hẹn giờ copy for the target still waiting?"""
        query = (
            self._of_target(select(Delivery.id), target)
            .join(Package, Package.id == Delivery.package_id)
            .where(Delivery.state == "pending", Package.priority >= FLASH)
            .limit(1)
        )
        return await self.session.scalar(query) is not None

    async def affected_count(self, incident: OutageIncident, end: datetime) -> int:
        query = self._affected(select(func.count()).select_from(Delivery), incident, end)
        return int(await self.session.scalar(query) or 0)

    async def affected(
        self, incident: OutageIncident, end: datetime
    ) -> list[tuple[Delivery, Package]]:
        query = self._affected(
            select(Delivery, Package).join(Package, Package.id == Delivery.package_id),
            incident,
            end,
        ).order_by(func.coalesce(Package.priority, 0).desc(), Delivery.queued_at, Delivery.id)
        return [(d, p) for d, p in (await self.session.execute(query)).all()]

    async def backlog(self, target: str, *, failed_since: datetime) -> list[Delivery]:
        """What a recovered target still owes: its `pending` copies, and the copies that went
        `failed` since `failed_since` (the retry budget ran out during the outage) — those
        locked, as they are about to change."""
        pending = await self.session.scalars(
            self._of_target(select(Delivery), target).where(Delivery.state == "pending")
        )
        failed = await self.session.scalars(
            self._of_target(select(Delivery), target)
            .where(Delivery.state == "failed", Delivery.updated_at >= failed_since)
            .with_for_update()
        )
        return [*pending.all(), *failed.all()]
