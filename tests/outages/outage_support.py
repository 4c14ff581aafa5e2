"""A gateway for the outage tests, driven step by step with a clock the test sets.

No relay, worker or monitor runs in the background: `Harness.deliver()` hands the unpublished
outbox rows, in id order, to a real `DeliveryHandler` whose push client answers what the test
says (httpx MockTransport), and the test runs the monitor's step itself. The sender is A80 (a
poll agency), the recipient H17 pushes to `ENDPOINT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from conftest import GatewayClient
from gateway.audit.models import AuditEvent
from gateway.delivery.backoff import RetryPolicy
from gateway.delivery.breaker import EndpointGuard
from gateway.delivery.jobs import DeliveryJob, HandlerResult
from gateway.delivery.models import EndpointHealth
from gateway.delivery.push import HEADER_DELIVERY_ID, PushClient
from gateway.delivery.relay import job_for
from gateway.delivery.service import DeliveryHandler
from gateway.outages.models import OutageIncident
from gateway.outages.monitor import OutageMonitor
from gateway.outbox import OutboxMessage
from gateway.packages.models import Delivery
from ops.ops_support import A80, H17, document

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ENDPOINT = "http://h17.example/edxml"
HOUR = 3600
QUIET = {"relay_in_process": False, "worker_in_process": False, "outage_monitor_interval": 0}


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, *args: int) -> datetime:
        self.now = vn(*args)
        return self.now


@dataclass
class FakeEndpoint:
    """H17's endpoint: answers `status` (or raises a connect error when it is None)."""

    status: int | None = 503
    pushed: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.pushed.append(request.headers[HEADER_DELIVERY_ID])
        if self.status is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(self.status, text=f"status {self.status}")


@dataclass
class Harness:
    gw: GatewayClient
    clock: Clock
    endpoint: FakeEndpoint
    handler: DeliveryHandler
    sender_key: str

    @property
    def db(self) -> Any:
        return self.gw.db

    async def send(self, n: int, *, priority: int = 0, subject: str | None = None) -> str:
        """A document from A80 to H17, received a second before the clock's time (time moves
        between intake and push, as it does outside tests); its delivery id."""
        received = self.clock() - timedelta(seconds=1)
        self.gw.app.state.clock = lambda: received
        try:
            r = await self.gw.post_package(
                document(n, priority=priority, subject=subject), self.sender_key
            )
        finally:
            self.gw.app.state.clock = self.clock
        assert r.status_code == 202, r.text
        return r.json()["deliveries"][0]["delivery_id"]

    async def outbox(self, *, notices: bool = False) -> list[OutboxMessage]:
        """The unpublished outbox rows of package copies (or, with `notices`, of notices to
        senders, e.g. about an outage), in the order the relay publishes them."""
        is_notice = OutboxMessage.topic == "notice.ready"
        async with self.db.sessionmaker() as s:
            rows = await s.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None))
                .where(is_notice if notices else ~is_notice)
                .order_by(OutboxMessage.id)
            )
            return list(rows.all())

    async def deliver(self, *, notices: bool = False) -> list[tuple[DeliveryJob, HandlerResult]]:
        """Relay and handle the unpublished outbox rows (what relay + worker do) of package
        copies, or of notices."""
        done = []
        for row in await self.outbox(notices=notices):
            async with self.db.sessionmaker() as s:
                (await s.get(OutboxMessage, row.id)).published_at = self.clock()
                await s.commit()
            job = job_for(row)
            done.append((job, await self.handler(job)))
        return done

    async def delivery(self, delivery_id: str) -> Delivery:
        async with self.db.sessionmaker() as s:
            return await s.get(Delivery, delivery_id)

    async def health(self, target: str = H17) -> EndpointHealth | None:
        async with self.db.sessionmaker() as s:
            return await s.get(EndpointHealth, target)

    async def incidents(self) -> list[OutageIncident]:
        async with self.db.sessionmaker() as s:
            return list((await s.scalars(select(OutageIncident).order_by(OutageIncident.id))).all())

    async def audit(self, action: str) -> list[AuditEvent]:
        async with self.db.sessionmaker() as s:
            rows = await s.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
            return list(rows.all())

    def monitor(self, **settings: Any) -> OutageMonitor:
        app = self.gw.app.state
        return OutageMonitor(self.db, app.settings.model_copy(update=settings), clock=self.clock)


async def start(
    make_gateway: Any, *, at: datetime, name: str = "UBND xã Hòa Sơn", **settings: Any
) -> Harness:
    gw = await make_gateway(**{**QUIET, **settings})
    clock = Clock(at)
    gw.app.state.clock = clock  # intake's queued_at, the forwarder, the dashboard
    keys = await gw.setup(A80)
    await gw.add_agency(H17, name, delivery_mode="push", endpoint_url=ENDPOINT)
    endpoint = FakeEndpoint()
    handler = DeliveryHandler(
        gw.db,
        gw.app.state.settings,
        client=PushClient(transport=httpx.MockTransport(endpoint)),
        guard=EndpointGuard(failure_threshold=1000),
        policy=RetryPolicy(tiers=(timedelta(seconds=30), timedelta(hours=1))),
        clock=clock,
    )
    return Harness(gw, clock, endpoint, handler, keys[A80])


FLASH_SUBJECT_XML = "Hỏa tốc: &lt;b&gt;khắc phục sự cố&lt;/b&gt;"
FLASH_SUBJECT = "Hỏa tốc: <b>khắc phục sự cố</b>"


@dataclass
class Weekend:
    """Ids of the copies of `weekend_outage`."""

    before: str  # failed on Thursday (a 4xx): not the outage's doing
    ordinary: str  # Friday 16:00, waiting for a retry
    ordinary_job: DeliveryJob  # …its retry job, still in its retry tier
    gave_up: str  # Friday 16:10, retry budget spent on Saturday 17:00
    urgent: str  # Friday 16:30, Priority 1 (khẩn), waiting
    flash: str  # Saturday 10:00, Priority 3 (hỏa tốc), waiting


async def weekend_outage(h: Harness) -> Weekend:
    """H17's endpoint fails from Friday 16:00; the incident opens on Monday 11:00."""
    h.clock.set(2026, 11, 19, 10, 0)
    before = await h.send(0)
    h.endpoint.status = 400
    await h.deliver()

    h.endpoint.status = 503
    h.clock.set(2026, 11, 20, 16, 0)
    ordinary = await h.send(1)
    [(ordinary_job, _)] = await h.deliver()
    h.clock.set(2026, 11, 20, 16, 10)
    gave_up = await h.send(2)
    [(gave_up_job, _)] = await h.deliver()
    h.clock.set(2026, 11, 20, 16, 30)
    urgent = await h.send(3, priority=1)
    h.clock.set(2026, 11, 21, 10, 0)
    flash = await h.send(4, priority=3, subject=FLASH_SUBJECT_XML)
    await h.deliver()
    h.clock.set(2026, 11, 21, 17, 0)  # 24 h 50 min after it was queued: gives up
    assert (await h.handler(gave_up_job.next_attempt())).kind == "dead"
    assert (await h.delivery(gave_up)).state == "failed"

    h.clock.set(2026, 11, 23, 11, 0)
    assert len((await h.monitor().run_once()).opened) == 1
    return Weekend(before, ordinary, ordinary_job.next_attempt(), gave_up, urgent, flash)


async def recover(h: Harness) -> str:
    """Monday 14:00 the endpoint answers again: a new document gets through (closing the
    incident), then the drained backlog is delivered. The new document's delivery id."""
    h.clock.set(2026, 11, 23, 14, 0)
    h.endpoint.status = 200
    fresh = await h.send(5)
    await h.deliver()  # the new document: the recovery
    await h.deliver()  # the backlog
    return fresh
