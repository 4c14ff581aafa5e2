"""The national connector: the gateway as a client of the national axis (VXP).

- `Forwarder.run_once()` sends due `axis_upstream_forwards` rows (copies for recipients outside
  the province; most urgent first) with sendEdoc as this node's system id, the stored bytes
  plus this gateway's TraceHeader, and records the upstream DocId; failures back off with
  jitter and, after `upstream_max_attempts` (or a permanent error), the copy becomes `failed`
  for an operator. Each result is also the health of the upstream link (gateway.outages): a
  non-permanent error marks it failing, a success that ends a failure closes the link's
  outage incident and drains its backlog.
- `Poller.run_once()` takes what upstream holds for the province's agencies:
  getReceivedEdocList (edoc, then status) → getEdoc → intake (one transaction, with an
  `axis_upstream_receipts` row) → commit → updateStatus done. A crash between the commit and
  the acknowledgement is healed on the next poll (the receipt says it is stored: acknowledge
  again), so every upstream message is stored exactly once.
- `sync_agencies()` compares getAgenciesList with the registry: new, changed, missing; applies
  additions and changes only when asked, never deletes.

`Connector` runs the three on their intervals (in the server lifespan when `upstream_url` is
set, or alone with `gateway connector`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio.to_thread
import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..auth.service import Principal
from ..calendar import OfficeCalendar
from ..db import Database, utcnow
from ..delivery.health import HealthLog
from ..edxml import EdxmlError, parse_package
from ..edxml.trace import relay_bytes
from ..errors import Forbidden, GatewayError
from ..outages.models import UPSTREAM
from ..outages.service import close_on_recovery
from ..packages.models import Delivery
from ..packages.service import PackageService, SignatureCheck, no_signature_check
from ..registry.models import Agency, AgencySystem
from ..registry.schemas import AGENCY_CODE_PATTERN
from ..registry.service import infer_level
from ..settings import Settings
from ..uow import write_session
from .client import VxpClient, VxpClientConfig, VxpClientError
from .models import UpstreamReceipt
from .repository import AxisRepository
from .routing import UPSTREAM_MODE, UpstreamRouting, ensure_remote_agency, is_out_of_province

log = logging.getLogger(__name__)

UPSTREAM_SYSTEM_NAME = "vxp-upstream"
"""The agency system that packages received from the national axis are submitted by."""


def upstream_client(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> VxpClient:
    if not (settings.upstream_url and settings.upstream_system_id and settings.upstream_secret):
        raise ValueError("upstream_url, upstream_system_id and upstream_secret must be set")
    config = VxpClientConfig(
        base_url=settings.upstream_url,
        system_id=settings.upstream_system_id,
        secret=settings.upstream_secret.get_secret_value(),
        timeout=settings.upstream_timeout,
    )
    return VxpClient(config, transport=transport, clock=clock)


@dataclass
class AxisContext:
    """What the connector needs of the gateway (taken from a running app's state)."""

    db: Database
    settings: Settings
    calendar: OfficeCalendar
    routing: UpstreamRouting
    signature_check: SignatureCheck = no_signature_check
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_app(cls, app: FastAPI) -> AxisContext:
        state = app.state
        return cls(
            db=state.db,
            settings=state.settings,
            calendar=state.calendar,
            routing=state.axis_routing,
            signature_check=state.signature_check,
            clock=lambda: state.clock(),
        )

    def package_service(self, session: AsyncSession, *, inbound: bool) -> PackageService:
        return PackageService(
            session,
            limits=self.settings.edxml_limits(),
            calendar=self.calendar,
            node_code=self.settings.node_code,
            signature_check=self.signature_check,
            clock=self.clock,
            routing=self.routing.inbound() if inbound else self.routing,
        )


# ------------------------------------------------------------------------------ forwarding


@dataclass
class ForwardStats:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


class Forwarder:
    def __init__(self, ctx: AxisContext, client: VxpClient, *, owner: str | None = None):
        self.ctx = ctx
        self.client = client
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    def backoff(self, attempts: int) -> timedelta:
        s = self.ctx.settings
        base = min(
            s.upstream_retry_max_seconds, s.upstream_retry_base_seconds * 2 ** (attempts - 1)
        )
        return timedelta(seconds=base * (1 + random.uniform(0, 0.2)))  # noqa: S311

    async def run_once(self, limit: int = 50) -> ForwardStats:
        stats = ForwardStats()
        now = self.ctx.clock()
        lease = now + timedelta(seconds=self.ctx.settings.upstream_lease_seconds)
        async with write_session(self.ctx.db) as session:
            rows = await AxisRepository(session).claim_forwards(now, lease, self.owner, limit)
            claimed = [(r.delivery_id, r.package_id, r.recipient_code) for r in rows]
        groups: dict[str, list[tuple[str, str]]] = {}
        for delivery_id, package_id, recipient in claimed:
            groups.setdefault(package_id, []).append((delivery_id, recipient))
        for package_id, items in groups.items():
            await self._forward(package_id, items, stats)
        return stats

    async def _forward(
        self, package_id: str, items: list[tuple[str, str]], stats: ForwardStats
    ) -> None:
        db = self.ctx.db
        async with db.read_session() as session:
            package = await AxisRepository(session).package_with_raw(package_id)
            states = {
                d.id: d.state
                for d in (
                    await session.scalars(
                        select(Delivery).where(Delivery.id.in_([i for i, _ in items]))
                    )
                ).all()
            }
        live = [(i, code) for i, code in items if states.get(i) not in (None, "cancelled")]
        dead = [i for i, _ in items if (i, _) not in live]
        if dead:
            async with write_session(db) as session:
                for delivery_id in dead:
                    forward = await AxisRepository(session).forward(delivery_id)
                    if forward is not None:
                        forward.state = "failed"
                        forward.last_error = "Bản gửi đã bị thu hồi trước khi chuyển lên trục"
                        forward.lease_until = None
        if not live or package is None:
            return
        now = self.ctx.clock()
        data = await anyio.to_thread.run_sync(
            relay_bytes, package.raw, self.ctx.settings.node_code, now
        )
        error: VxpClientError | None = None
        doc_id: str | None = None
        try:
            doc_id = await self.client.send_edoc(
                data,
                from_code=package.sender_code,
                message_type="edoc" if package.kind == "document" else "status",
                to=[code for _, code in live],
            )
        except VxpClientError as exc:
            error = exc
            log.warning("forwarding package %s upstream failed: %s", package_id, exc)
        failing_since = None
        async with write_session(db) as session:
            repo = AxisRepository(session)
            audit = AuditLog(session)
            now = self.ctx.clock()
            # the link's health (gateway.delivery.health); a permanent refusal says nothing
            health = HealthLog(session)
            if error is None:
                failing_since = await health.success(UPSTREAM, at=now)
            elif not error.permanent:
                await health.failure(UPSTREAM, at=now, error=f"{error.code}: {error.message}")
            for delivery_id, recipient in live:
                forward = await repo.forward(delivery_id)
                delivery = await session.get(Delivery, delivery_id)
                if forward is None or delivery is None:
                    continue
                forward.lease_until = None
                forward.lease_owner = None
                forward.attempts += 1
                delivery.attempts += 1
                delivery.updated_at = now
                if error is None:
                    forward.state = "sent"
                    forward.upstream_doc_id = doc_id
                    forward.sent_at = now
                    forward.last_error = None
                    if delivery.state == "pending":
                        delivery.state = "delivered"
                        delivery.delivered_at = now
                    delivery.sent_at = delivery.sent_at or now
                    delivery.last_error = None
                    stats.sent += 1
                    await audit.append(
                        "delivery.forwarded",
                        actor="gateway:connector",
                        subject=f"delivery:{delivery_id}",
                        at=now,
                        data={
                            "package_id": package_id,
                            "recipient": recipient,
                            "upstream_doc_id": doc_id,
                            "upstream_system_id": self.client.config.system_id,
                        },
                    )
                    continue
                message = f"{error.code}: {error.message}"
                forward.last_error = message
                delivery.last_error = f"Trục quốc gia: {message}"
                give_up = error.permanent or (
                    forward.attempts >= self.ctx.settings.upstream_max_attempts
                )
                if give_up:
                    forward.state = "failed"
                    delivery.state = "failed"
                    stats.failed += 1
                    await audit.append(
                        "delivery.failed",
                        actor="gateway:connector",
                        subject=f"delivery:{delivery_id}",
                        at=now,
                        data={"package_id": package_id, "recipient": recipient, "error": message},
                    )
                else:
                    forward.next_attempt_at = now + self.backoff(forward.attempts)
                    stats.retrying += 1
        if failing_since is not None:  # the link is back: close its incident, drain
            await close_on_recovery(db, self.ctx.calendar, UPSTREAM, at=now)


# --------------------------------------------------------------------------------- polling


@dataclass
class PollStats:
    stored: int = 0
    duplicates: int = 0
    acknowledged: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


async def upstream_system(session: AsyncSession) -> AgencySystem:
    system = await session.scalar(
        select(AgencySystem).where(AgencySystem.name == UPSTREAM_SYSTEM_NAME)
    )
    if system is None:
        system = AgencySystem(name=UPSTREAM_SYSTEM_NAME, active=True, agencies=[])
        session.add(system)
        await session.flush()
    return system


class Poller:
    MESSAGE_TYPES = ("edoc", "status")

    def __init__(self, ctx: AxisContext, client: VxpClient):
        self.ctx = ctx
        self.client = client

    async def run_once(self) -> PollStats:
        stats = PollStats()
        for message_type in self.MESSAGE_TYPES:
            try:
                items = await self.client.received_list(message_type)
            except VxpClientError as exc:
                stats.errors.append(str(exc))
                log.warning("getReceivedEdocList(%s) failed: %s", message_type, exc)
                continue
            for item in items:
                doc_id = str(item.get("docId") or item.get("docid") or "").strip()
                if not doc_id:
                    continue
                try:
                    await self.take(doc_id, message_type, stats)
                except VxpClientError as exc:
                    stats.errors.append(str(exc))
                    log.warning("taking upstream %s failed: %s", doc_id, exc)
        return stats

    async def take(self, doc_id: str, message_type: str, stats: PollStats) -> None:
        async with self.ctx.db.read_session() as session:
            receipt = await session.get(UpstreamReceipt, doc_id)
            known = receipt.state if receipt else None
        if known == "rejected":
            return  # already answered `fail`; an operator looks at it
        if known is None:
            data = await self.client.get_edoc(doc_id)
            try:
                async with write_session(self.ctx.db) as session:
                    duplicate = await self._store(session, data, doc_id, message_type)
            except GatewayError as exc:
                await self._reject(doc_id, message_type, exc)
                stats.rejected += 1
                with suppress(VxpClientError):
                    await self.client.update_status(doc_id, "fail")
                return
            stats.duplicates += int(duplicate)
            stats.stored += int(not duplicate)
        # stored (now, or before a crash): acknowledge upstream, then remember that we did
        await self.client.update_status(doc_id, "done")
        async with write_session(self.ctx.db) as session:
            row = await session.get(UpstreamReceipt, doc_id)
            if row is not None and row.state != "acked":
                row.state = "acked"
                row.acked_at = self.ctx.clock()
        stats.acknowledged += 1

    async def _store(
        self, session: AsyncSession, data: bytes, doc_id: str, message_type: str
    ) -> bool:
        sender = await self._sender_of(data)
        agencies: frozenset[str] = frozenset()
        if sender:
            agency = await session.get(Agency, sender)
            if agency is not None and agency.delivery_mode != UPSTREAM_MODE:
                # the national axis never speaks for an agency of this province
                raise Forbidden(
                    f"Gói tin từ trục quốc gia mang mã cơ quan trong tỉnh {sender}",
                    details={"from": sender},
                )
            if agency is None:
                await ensure_remote_agency(session, sender, actor="gateway:connector")
            agencies = frozenset({sender})
        system = await upstream_system(session)
        principal = Principal("system", system.id, system.name, agencies=agencies)
        result = await self.ctx.package_service(session, inbound=True).intake(data, principal)
        now = self.ctx.clock()
        session.add(
            UpstreamReceipt(
                upstream_doc_id=doc_id,
                message_type=message_type,
                package_id=result.package_id,
                state="stored",
                duplicate=result.duplicate,
                received_at=now,
            )
        )
        await AuditLog(session).append(
            "package.received_upstream",
            actor="gateway:connector",
            subject=f"package:{result.package_id}",
            at=now,
            data={"upstream_doc_id": doc_id, "duplicate": result.duplicate},
        )
        return result.duplicate

    async def _sender_of(self, data: bytes) -> str | None:
        try:
            package = await anyio.to_thread.run_sync(
                parse_package, data, self.ctx.settings.edxml_limits()
            )
        except (EdxmlError, ValueError):
            return None  # intake reports why
        return package.sender_id or None

    async def _reject(self, doc_id: str, message_type: str, exc: GatewayError) -> None:
        async with write_session(self.ctx.db) as session:
            session.add(
                UpstreamReceipt(
                    upstream_doc_id=doc_id,
                    message_type=message_type,
                    state="rejected",
                    last_error=f"{exc.code}: {exc.message}",
                    received_at=self.ctx.clock(),
                )
            )
            await AuditLog(session).append(
                "package.rejected_upstream",
                actor="gateway:connector",
                subject=f"upstream:{doc_id}",
                data={"code": exc.code, "message": exc.message, "findings": exc.findings},
            )


# ----------------------------------------------------------------------------- registry sync


@dataclass
class SyncReport:
    upstream_total: int = 0
    invalid: int = 0
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    applied: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "upstream_total": self.upstream_total,
            "invalid": self.invalid,
            "new": self.new,
            "changed": self.changed,
            "missing": self.missing,
            "applied": self.applied,
        }

    def summary(self, lang: str = "vi") -> str:
        if lang == "en":
            verb = "applied" if self.applied else "not applied (use --apply)"
            return (
                f"national axis: {self.upstream_total} agencies; new {len(self.new)}, changed "
                f"{len(self.changed)}, in the province but not on the axis {len(self.missing)} "
                f"(not deleted), {self.invalid} invalid records skipped; {verb}"
            )
        verb = "đã áp dụng" if self.applied else "chưa áp dụng (dùng --apply)"
        return (
            f"trục quốc gia: {self.upstream_total} cơ quan; mới {len(self.new)}, thay đổi "
            f"{len(self.changed)}, có ở tỉnh nhưng không có trên trục {len(self.missing)} "
            f"(không xóa), bỏ qua {self.invalid} bản ghi sai; {verb}"
        )


async def sync_agencies(
    db: Database,
    client: VxpClient,
    *,
    apply: bool,
    local_groups: frozenset[str],
    actor: str = "gateway:connector",
) -> SyncReport:
    import re

    pattern = re.compile(AGENCY_CODE_PATTERN)
    entries = await client.agencies_list()
    report = SyncReport(upstream_total=len(entries))
    by_id = {str(e.get("id")): e for e in entries if e.get("id") is not None}
    wanted: dict[str, dict[str, Any]] = {}
    for entry in entries:
        code = str(entry.get("code") or "").strip()
        name = str(entry.get("name") or "").strip()[:500]
        if not pattern.fullmatch(code) or not name:
            report.invalid += 1
            continue
        parent = by_id.get(str(entry.get("pid"))) if entry.get("pid") not in (None, "") else None
        parent_code = str(parent.get("code") or "").strip() if parent else None
        if parent_code and not pattern.fullmatch(parent_code):
            parent_code = None
        wanted[code] = {"code": code, "name": name, "parent_code": parent_code}

    async with write_session(db) as session:
        local = {a.code: a for a in (await session.scalars(select(Agency))).all()}
        for code, item in wanted.items():
            if code == item["parent_code"]:
                item["parent_code"] = None
            if item["parent_code"] and item["parent_code"] not in wanted | local:
                item["parent_code"] = None
            agency = local.get(code)
            if agency is None:
                mode = UPSTREAM_MODE if is_out_of_province(code, local_groups) else "poll"
                report.new.append({**item, "delivery_mode": mode})
                continue
            changes = {}
            if agency.name != item["name"]:
                changes["name"] = [agency.name, item["name"]]
            if item["parent_code"] and agency.parent_code != item["parent_code"]:
                changes["parent_code"] = [agency.parent_code, item["parent_code"]]
            if changes:
                report.changed.append({"code": code, "changes": changes})
        report.missing = sorted(
            code for code, a in local.items() if code not in wanted and a.active
        )
        if not apply:
            return report
        now = utcnow()
        for item in report.new:
            session.add(
                Agency(
                    code=item["code"],
                    name=item["name"],
                    level=infer_level(item["code"]),
                    active=True,
                    delivery_mode=item["delivery_mode"],
                    created_at=now,
                    updated_at=now,
                )
            )
        await session.flush()
        for item in report.new:
            if item["parent_code"]:
                (await session.get(Agency, item["code"])).parent_code = item["parent_code"]  # type: ignore[union-attr]
        for change in report.changed:
            agency = local[change["code"]]
            for key, (_old, new) in change["changes"].items():
                setattr(agency, key, new)
            agency.updated_at = now
        await session.flush()
        report.applied = True
        await AuditLog(session).append(
            "agency.synced",
            actor=actor,
            subject="registry",
            at=now,
            data={
                "upstream_total": report.upstream_total,
                "new": [i["code"] for i in report.new],
                "changed": [c["code"] for c in report.changed],
                "missing": report.missing,
            },
        )
    return report


# ------------------------------------------------------------------------------ the loops


class Connector:
    def __init__(self, ctx: AxisContext, client: VxpClient):
        self.ctx = ctx
        self.client = client
        self.forwarder = Forwarder(ctx, client)
        self.poller = Poller(ctx, client)

    async def sync_once(self) -> SyncReport:
        s = self.ctx.settings
        report = await sync_agencies(
            self.ctx.db,
            self.client,
            apply=s.agency_sync_auto_apply,
            local_groups=s.local_code_groups,
        )
        log.info("registry sync: %s", report.summary())
        return report

    async def run(self) -> None:
        s = self.ctx.settings
        loops: list[tuple[str, Callable[[], Awaitable[Any]], float]] = [
            ("forward", self.forwarder.run_once, s.upstream_forward_interval),
            ("poll", self.poller.run_once, s.upstream_poll_interval),
        ]
        if s.agency_sync_interval > 0:
            loops.append(("sync-agencies", self.sync_once, s.agency_sync_interval))
        async with asyncio.TaskGroup() as group:
            for name, step, interval in loops:
                group.create_task(_every(name, step, interval))


async def _every(name: str, step: Callable[[], Awaitable[Any]], interval: float) -> None:
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("connector %s step failed", name)
        await asyncio.sleep(interval)


@asynccontextmanager
async def run_connector(app: FastAPI) -> AsyncIterator[Connector | None]:
    """For the server lifespan: run the connector in the background when configured."""
    settings: Settings = app.state.settings
    if not (settings.upstream_url and settings.connector_in_server):
        yield None
        return
    client = upstream_client(
        settings,
        transport=getattr(app.state, "axis_transport", None),
        clock=lambda: app.state.clock(),
    )
    connector = Connector(AxisContext.from_app(app), client)
    task = asyncio.create_task(connector.run(), name="gateway-connector")
    try:
        yield connector
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError, Exception):
            await task
        await client.aclose()
