"""The upstream link to the national axis as an outage target (both backends): the forwarder's
results make its health; more than 4 working hours of failure is an `upstream` incident; the
first forward that gets through closes it and drains the backlog — waiting copies due now,
copies given up on during the outage resent — and the forwarder sends them urgent first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outage_support import HOUR, QUIET, Clock, vn
from pydantic import SecretStr
from sqlalchemy import select

from conftest import GatewayClient, rewrite
from gateway.axis.client import VxpClientError
from gateway.axis.connector import AxisContext, Connector, Forwarder, upstream_client
from gateway.delivery.models import UpstreamForward
from gateway.outages.models import UPSTREAM, OutageIncident
from gateway.outages.monitor import OutageMonitor
from gateway.outbox import OutboxMessage
from gateway.packages.models import Delivery
from ops.ops_support import A80, H17, document

NODE = "00.01.W00"  # province 1
A = "000.00.01.H01"  # an agency of province 1
B = "000.00.01.H02"  # an agency of province 2, reached through the national axis
WEEK = 7 * 24 * HOUR


class FakeAxis:
    """sendEdoc of the national axis: down (a network error) until told otherwise."""

    def __init__(self) -> None:
        self.down = True
        self.sent: list[str] = []

    async def send_edoc(self, data: bytes, **_kw: Any) -> str:
        if self.down:
            raise VxpClientError("sendEdoc", "NETWORK", "ConnectError: national axis down")
        marker = data[data.index(b",2026/10/01,") + 12 :]
        self.sent.append(marker[: marker.index(b"/")].decode())
        return f"upstream-{len(self.sent)}"


def document_a_to_b(n: int, priority: int = 0) -> bytes:
    raw = document(n, priority=priority).replace(A80.encode(), A.encode())
    return rewrite(raw, H17, B)


@dataclass
class Upstream:
    """A gateway of province 1 whose national connector talks to a `FakeAxis`."""

    gw: GatewayClient
    clock: Clock
    axis: FakeAxis
    forwarder: Forwarder
    key: str

    async def send(self, n: int, priority: int = 0) -> str:
        r = await self.gw.post_package(document_a_to_b(n, priority), self.key)
        assert r.status_code == 202, r.text
        [copy] = r.json()["deliveries"]
        return copy["delivery_id"]

    async def rows(self, model: Any) -> dict[str, Any]:
        async with self.gw.db.sessionmaker() as s:
            found = (await s.scalars(select(model))).all()
        return {(r.delivery_id if model is UpstreamForward else r.id): r for r in found}


async def upstream(make_gateway: Any, monkeypatch: Any) -> Upstream:
    gw = await make_gateway(
        **QUIET,
        node_code=NODE,
        upstream_url="http://national.test/vxp",
        upstream_system_id=NODE,
        upstream_secret=SecretStr("s" * 32),
        connector_in_server=False,
        upstream_max_attempts=2,
        upstream_retry_base_seconds=WEEK,  # a waiting copy is not due again during the test
        upstream_retry_max_seconds=WEEK,
    )
    clock = Clock(vn(2026, 11, 20, 16, 0))
    gw.app.state.clock = clock
    await gw.add_agency(A)
    key = await gw.add_system("qlvb-a", A)
    client = upstream_client(gw.app.state.settings)
    axis = FakeAxis()
    monkeypatch.setattr(client, "send_edoc", axis.send_edoc)
    forwarder = Connector(AxisContext.from_app(gw.app), client).forwarder
    return Upstream(gw, clock, axis, forwarder, key)


async def test_an_upstream_outage_opens_closes_and_drains(make_gateway, monkeypatch):
    u = await upstream(make_gateway, monkeypatch)

    # Friday 16:00 the national axis stops answering
    gave_up = await u.send(1)
    assert (await u.forwarder.run_once()).retrying == 1
    async with u.gw.db.sessionmaker() as s:
        (await s.get(UpstreamForward, gave_up)).next_attempt_at = u.clock()
        await s.commit()
    u.clock.set(2026, 11, 21, 10, 0)
    assert (await u.forwarder.run_once()).failed == 1  # out of attempts on Saturday
    u.clock.set(2026, 11, 21, 11, 0)
    urgent, ordinary = await u.send(2, priority=2), await u.send(3)
    assert (await u.forwarder.run_once()).retrying == 2

    u.clock.set(2026, 11, 23, 11, 0)
    monitor = OutageMonitor(u.gw.db, u.gw.app.state.settings, clock=u.clock)
    [incident] = (await monitor.run_once()).opened
    assert (incident.kind, incident.target, incident.agency_code) == ("upstream", UPSTREAM, None)
    assert incident.started_at == vn(2026, 11, 20, 16, 0)
    assert "national axis down" in incident.last_error and incident.affected == 3

    # Monday 14:00 it answers again: the next forward closes the incident and drains
    u.clock.set(2026, 11, 23, 14, 0)
    u.axis.down = False
    fresh = await u.send(4)
    assert (await u.forwarder.run_once()).sent == 1
    async with u.gw.db.sessionmaker() as s:
        [closed] = (await s.scalars(select(OutageIncident))).all()
    assert closed.closed_at == vn(2026, 11, 23, 14, 0)
    assert (closed.duration_seconds, closed.working_seconds) == (70 * HOUR, 5.5 * HOUR)
    forwards, deliveries = await u.rows(UpstreamForward), await u.rows(Delivery)
    for copy in (urgent, ordinary, gave_up):
        assert forwards[copy].state == "pending"
        assert forwards[copy].next_attempt_at == vn(2026, 11, 23, 14, 0)
    assert (forwards[gave_up].attempts, forwards[urgent].attempts) == (0, 1)
    assert deliveries[gave_up].state == "pending"

    # urgent first, then the oldest
    assert (await u.forwarder.run_once()).sent == 3
    assert u.axis.sent == ["4", "2", "1", "3"]
    deliveries = await u.rows(Delivery)
    assert {deliveries[c].state for c in (urgent, ordinary, gave_up, fresh)} == {"delivered"}


async def test_an_operators_resend_of_an_upstream_copy_goes_through_its_forward_row(
    make_gateway, monkeypatch
):
    """Resending a failed copy for the national axis re-arms its forward row (a new round of
    attempts), as the outage drain does; it is not queued for a push or an inbox."""
    u = await upstream(make_gateway, monkeypatch)
    u.axis.down = False
    failed = await u.send(1)
    async with u.gw.db.sessionmaker() as s:
        (await s.get(UpstreamForward, failed)).attempts = 2
        await s.commit()
    u.axis.down = True
    assert (await u.forwarder.run_once()).failed == 1
    u.axis.down = False

    r = await u.gw.http.post(
        f"/api/v1/admin/deliveries/{failed}/resend",
        json={"reason": "trục quốc gia đã hoạt động lại"},
        headers=await u.gw.admin(),
    )
    assert r.status_code == 200, r.text
    forward = (await u.rows(UpstreamForward))[failed]
    assert (forward.state, forward.attempts, forward.last_error) == ("pending", 0, None)
    assert (await u.rows(OutboxMessage)) == {}
    # the resend is due at once on the app's clock, the one the connector reads too
    assert (await u.forwarder.run_once()).sent == 1
    assert (await u.rows(Delivery))[failed].state == "delivered"
