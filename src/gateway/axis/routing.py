"""Which recipients go to the national axis: the `Routing` seam of gateway.packages.

An agency reached through the national axis is an ordinary registry row with
`delivery_mode = "upstream"` (created by the registry sync, by an operator, or — when
`upstream_url` is configured — on first use of a well-formed out-of-province code such as
`000.00.00.G22` or `000.00.00.H41`). Its copies are not queued for an inbox or a push endpoint:
the intake transaction writes one `axis_upstream_forwards` row per copy, which the connector
sends upstream. Without `upstream_url` such recipients are refused (RECIPIENT_UNKNOWN) as before.

Packages that came *from* the national axis (the poller) use `inbound()`: their copies for
agencies outside the province are dropped — the national axis delivers those itself — so a
package never bounces back up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..delivery.models import UpstreamForward
from ..errors import RecipientUnknown
from ..packages.models import Delivery, Package
from ..packages.schemas import Timeline
from ..registry.models import Agency
from ..registry.service import CODE_2016, RegistryService, Route, infer_level
from .models import UpstreamReceipt

UPSTREAM_MODE = "upstream"


def is_out_of_province(code: str, local_groups: frozenset[str]) -> bool:
    """A 2016-form code (`ddd.dd.dd.Xnn`) whose level-1 group is not this province's."""
    m = CODE_2016.match(code)
    return bool(m) and m.group(4) not in local_groups


async def ensure_remote_agency(
    session: AsyncSession, code: str, *, name: str | None = None, actor: str = "gateway"
) -> Agency:
    """The registry row of an agency reached through the national axis (created if missing)."""
    agency = await session.get(Agency, code)
    if agency is not None:
        return agency
    agency = Agency(
        code=code,
        name=name or f"Cơ quan ngoài tỉnh {code}",
        level=infer_level(code),
        active=True,
        delivery_mode=UPSTREAM_MODE,
    )
    try:
        async with session.begin_nested():
            session.add(agency)
            await session.flush()
    except IntegrityError:  # added concurrently
        existing = await session.get(Agency, code)
        if existing is None:
            raise
        return existing
    await AuditLog(session).append(
        "agency.remote_added",
        actor=actor,
        subject=f"agency:{code}",
        data={"code": code, "delivery_mode": UPSTREAM_MODE},
    )
    return agency


class UpstreamRouting:
    def __init__(self, *, enabled: bool, local_groups: frozenset[str], inbound: bool = False):
        self.enabled = enabled
        self.local_groups = local_groups
        self.is_inbound = inbound

    def inbound(self) -> UpstreamRouting:
        return UpstreamRouting(enabled=self.enabled, local_groups=self.local_groups, inbound=True)

    async def resolve(
        self, registry: RegistryService, codes: list[str]
    ) -> tuple[list[Route], set[str]]:
        codes = list(dict.fromkeys(codes))
        if self.enabled:
            found = await registry.agencies.existing_codes(codes)
            for code in codes:
                if code not in found and is_out_of_province(code, self.local_groups):
                    await ensure_remote_agency(registry.session, code, actor=registry.actor)
        if self.is_inbound:
            # the national axis sent us this copy for our agencies; other codes are its business
            known = await registry.agencies.existing_codes(codes)
            codes = [c for c in codes if c in known] or codes
        routes = await registry.resolve(codes)  # carries the final agencies' rows
        remote = {r.final for r in routes if r.agency and r.agency.delivery_mode == UPSTREAM_MODE}
        if self.is_inbound:
            kept = [r for r in routes if r.final not in remote]
            if not kept:
                raise RecipientUnknown(
                    "Không có cơ quan nhận nào thuộc tỉnh trong gói tin từ trục quốc gia",
                    details={"unknown": codes},
                )
            return kept, set()
        if remote and not self.enabled:
            missing = sorted(r.addressed for r in routes if r.final in remote)
            raise RecipientUnknown(
                "Cơ quan nhận ngoài tỉnh nhưng chưa cấu hình kết nối trục quốc gia: "
                + ", ".join(missing),
                details={"unknown": missing},
            )
        return routes, remote

    async def stored(
        self, session: AsyncSession, package: Package, deliveries: list[Delivery], now: datetime
    ) -> None:
        session.add_all(
            UpstreamForward(
                delivery_id=d.id,
                package_id=package.id,
                recipient_code=d.recipient_code,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            for d in deliveries
        )
        await session.flush()

    async def annotate(self, session: AsyncSession, timeline: Timeline) -> None:
        package_id = timeline.package.id
        forwards = (
            await session.scalars(
                select(UpstreamForward).where(UpstreamForward.package_id == package_id)
            )
        ).all()
        by_delivery = {f.delivery_id: f for f in forwards}
        for recipient in timeline.recipients:
            forward = by_delivery.get(recipient.delivery_id)
            if forward is not None:
                recipient.upstream_doc_id = forward.upstream_doc_id
                if forward.last_error and not recipient.last_error:
                    recipient.last_error = forward.last_error
        timeline.package.upstream_doc_id = await session.scalar(
            select(UpstreamReceipt.upstream_doc_id)
            .where(UpstreamReceipt.package_id == package_id)
            .limit(1)
        )
