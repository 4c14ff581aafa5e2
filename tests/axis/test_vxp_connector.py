"""The national connector between two gateways: gateway 2 plays the national axis (its VXP
face), gateway 1 is the province that forwards upward and polls downward. Gateway 1 runs on
the test's backend (SQLite and PostgreSQL), gateway 2 on SQLite. The connector's steps are
called one by one (`run_once`) instead of sleeping."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from conftest import GatewayClient, original_from_g22, rewrite, sample_bytes
from gateway.axis.client import VxpClientError
from gateway.axis.connector import AxisContext, Connector, sync_agencies, upstream_client
from gateway.axis.models import UpstreamReceipt
from gateway.delivery.models import UpstreamForward

A = "000.00.01.H01"  # an agency of province 1 (gateway 1)
A2 = "000.00.02.H01"  # another one, never known upstream
B = "000.00.01.H02"  # an agency of province 2 (on the national axis, gateway 2)
H14, G17 = "000.00.00.H14", "000.00.00.G17"
NODE1, NODE2 = "00.01.W00", "00.02.W00"


def document_a_to_b() -> bytes:
    """A new document from A to B, H14 and G17 (all outside province 1)."""
    data = original_from_g22().replace(b"000.00.00.G22", A.encode())
    return rewrite(data, "000.00.00.H41", B, 1)


def status_from_b(sample: str = "status_acceptance_03.edxml") -> bytes:
    data = sample_bytes(sample).replace(b"000.00.00.G22", A.encode())
    return data.replace(b"000.00.00.H41", B.encode())


def document_b_to_a() -> bytes:
    data = original_from_g22().replace(b"000.00.00.G22", B.encode())
    data = data.replace(b"7816/VPCP", b"9999/UBND")
    return rewrite(data, "000.00.00.H41", A, 1)


@dataclass
class Pair:
    gw1: GatewayClient
    gw2: GatewayClient
    connector: Connector
    keys: dict[str, str]
    node_key: str

    async def packages1(self) -> int:
        return await self.gw1.count("packages")


async def _start(stack: AsyncExitStack, settings: Any, **state: Any) -> GatewayClient:
    from gateway.app import create_app

    app = create_app(settings)
    for name, value in state.items():
        setattr(app.state, name, value)
    await stack.enter_async_context(app.router.lifespan_context(app))
    http = await stack.enter_async_context(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
            base_url="http://gateway.test",
        )
    )
    return GatewayClient(app, http)


@asynccontextmanager
async def two_gateways(
    gateway_settings: Any,
    sqlite_template: Any,
    tmp_path: Any,
    national_extra: dict[str, Any] | None = None,
    **settings1_extra: Any,
) -> AsyncIterator[Pair]:
    from gateway.settings import Settings

    axis_dir = tmp_path / "national"
    axis_dir.mkdir()
    shutil.copy(sqlite_template, axis_dir / "gw2.sqlite3")
    settings2 = Settings(
        data_dir=axis_dir,
        database_url=f"sqlite+aiosqlite:///{axis_dir / 'gw2.sqlite3'}",
        auto_migrate=False,
        node_code=NODE2,
        **(national_extra or {}),
    )
    async with AsyncExitStack() as stack:
        gw2 = await _start(stack, settings2)
        for code in (A, B, H14, G17):
            await gw2.add_agency(code)
        keys = {B: await gw2.add_system("qlvb-b", B)}
        r = await gw2.http.post(
            "/api/v1/admin/systems",
            json={"name": "province-1-node", "agencies": [A]},
            headers=await gw2.admin(),
        )
        node_key = r.json()["api_key"]
        r = await gw2.http.post(
            f"/api/v1/admin/systems/{r.json()['system']['id']}/vxp-secret",
            json={"vxp_system_id": NODE1},
            headers=await gw2.admin(),
        )
        secret = r.json()["secret"]

        settings1 = gateway_settings.model_copy(
            update={
                "node_code": NODE1,
                "upstream_url": "http://national.test/vxp",
                "upstream_system_id": NODE1,
                "upstream_secret": SecretStr(secret),
                "connector_in_server": False,
                **settings1_extra,
            }
        )
        transport = httpx.ASGITransport(app=gw2.app)
        gw1 = await _start(stack, settings1, axis_transport=transport)
        await gw1.add_agency(A)
        await gw1.add_agency(A2)
        keys[A] = await gw1.add_system("qlvb-a", A)
        client = upstream_client(settings1, transport=transport)
        stack.push_async_callback(client.aclose)
        connector = Connector(AxisContext.from_app(gw1.app), client)
        yield Pair(gw1, gw2, connector, keys, node_key)


@pytest.fixture
async def pair(gateway_settings, sqlite_template, tmp_path) -> AsyncIterator[Pair]:
    async with two_gateways(gateway_settings, sqlite_template, tmp_path) as p:
        yield p


def trace_organs(data: bytes) -> list[str]:
    block = data[data.index(b"<edXML:TraceHeaderList>") :]
    return re.findall(r"<edXML:TraceHeader>\s*<edXML:OrganId>([^<]+)<", block.decode())


# ------------------------------------------------------------------------------- the trip


async def test_document_goes_up_and_status_comes_back(pair: Pair) -> None:
    gw1, gw2 = pair.gw1, pair.gw2
    admin1 = await gw1.admin_key()

    # A → gateway 1: every recipient is outside province 1, so all go upstream
    r = await gw1.post_package(document_a_to_b(), pair.keys[A])
    assert r.status_code == 202, r.text
    package_id = r.json()["package_id"]
    assert {d["recipient"] for d in r.json()["deliveries"]} == {B, H14, G17}
    agency = (await gw1.get(f"/api/v1/agencies/{B}", admin1)).json()
    assert agency["delivery_mode"] == "upstream"

    # gateway 1 → gateway 2 (one sendEdoc for the three copies)
    stats = await pair.connector.forwarder.run_once()
    assert (stats.sent, stats.retrying, stats.failed) == (3, 0, 0)
    assert (await pair.connector.forwarder.run_once()).sent == 0  # nothing twice
    timeline = (await gw1.get(f"/api/v1/packages/{package_id}/timeline", admin1)).json()
    upstream_ids = {r["upstream_doc_id"] for r in timeline["recipients"]}
    assert len(upstream_ids) == 1 and None not in upstream_ids
    assert {r["state"] for r in timeline["recipients"]} == {"delivered"}
    assert await gw2.count("packages") == 1

    # gateway 2 → B: the bytes carry both hops' TraceHeaders
    inbox = (await gw2.get("/api/v1/inbox", pair.keys[B])).json()
    [item] = inbox["items"]
    assert item["package_id"] == upstream_ids.pop()
    fetched = await gw2.get(item["href"], pair.keys[B])
    assert trace_organs(fetched.content)[-2:] == [NODE1, NODE2]
    ack = await gw2.post(f"/api/v1/deliveries/{item['delivery_id']}/ack", pair.keys[B])
    assert ack.status_code == 200

    # B's status → gateway 2 → (poll) gateway 1 → A
    r = await gw2.post_package(status_from_b(), pair.keys[B])
    assert r.status_code == 202, r.text
    assert [d["recipient"] for d in r.json()["deliveries"]] == [A]
    poll = await pair.connector.poller.run_once()
    assert (poll.stored, poll.acknowledged, poll.rejected, poll.errors) == (1, 1, 0, [])
    statuses = (await gw1.get("/api/v1/inbox", pair.keys[A], params={"kind": "status"})).json()
    [status_item] = statuses["items"]
    assert status_item["sender"] == B and status_item["status_code"] == "03"
    timeline = (await gw1.get(f"/api/v1/packages/{package_id}/timeline", admin1)).json()
    b_copy = next(x for x in timeline["recipients"] if x["recipient"] == B)
    assert [s["code"] for s in b_copy["statuses"]] == ["03"]
    status_timeline = (
        await gw1.get(f"/api/v1/packages/{status_item['package_id']}/timeline", admin1)
    ).json()
    assert status_timeline["package"]["upstream_doc_id"]
    # acknowledged upstream: nothing left for province 1 on the national axis
    status_copy = r.json()["deliveries"][0]["delivery_id"]
    upstream_tl = (
        await gw2.get(f"/api/v1/packages/{r.json()['package_id']}/timeline", await gw2.admin_key())
    ).json()
    assert upstream_tl["recipients"][0]["delivery_id"] == status_copy
    assert upstream_tl["recipients"][0]["state"] == "acknowledged"
    assert (await pair.connector.poller.run_once()).stored == 0

    # a status from A goes up too (A is the sender: only 13, take back, is its to send)
    r = await gw1.post_package(status_from_b("status_cancellation_13.edxml"), pair.keys[A])
    assert r.status_code == 202, r.text
    assert (await pair.connector.forwarder.run_once()).sent == 1


async def test_documents_come_down_exactly_once(pair: Pair) -> None:
    gw1, gw2 = pair.gw1, pair.gw2
    r = await gw2.post_package(document_b_to_a(), pair.keys[B])
    assert r.status_code == 202, r.text
    assert {d["recipient"] for d in r.json()["deliveries"]} == {A, H14, G17}

    # crash between storing and acknowledging upstream
    client = pair.connector.client
    real_update = client.update_status
    calls: list[tuple[str, str]] = []

    async def lost_ack(doc_id: str, status: str) -> None:
        calls.append((doc_id, status))
        raise VxpClientError("updateStatus", "NETWORK", "connection reset")

    client.update_status = lost_ack  # type: ignore[method-assign]
    first = await pair.connector.poller.run_once()
    assert first.stored == 1 and first.acknowledged == 0 and len(first.errors) == 1
    client.update_status = real_update  # type: ignore[method-assign]

    second = await pair.connector.poller.run_once()
    assert (second.stored, second.duplicates, second.acknowledged) == (0, 0, 1)
    assert await pair.packages1() == 1
    inbox = (await gw1.get("/api/v1/inbox", pair.keys[A])).json()
    [item] = inbox["items"]
    assert item["sender"] == B
    # only A's copy: H14 and G17 are the national axis's business, never sent back up
    async with gw1.db.sessionmaker() as session:
        assert (await session.scalars(select(UpstreamForward))).all() == []
        [receipt] = (await session.scalars(select(UpstreamReceipt))).all()
        assert receipt.state == "acked" and receipt.package_id == item["package_id"]
    assert (await pair.connector.poller.run_once()).acknowledged == 0


async def test_upstream_cannot_speak_for_a_local_agency(pair: Pair) -> None:
    # on the national axis, province 1's node sends a package "from A" to A
    forged = original_from_g22().replace(b"000.00.00.G22", A.encode())
    forged = rewrite(forged, "000.00.00.H41", A)
    r = await pair.gw2.post_package(forged, pair.node_key)
    assert r.status_code == 202, r.text
    stats = await pair.connector.poller.run_once()
    assert (stats.stored, stats.rejected) == (0, 1)
    assert await pair.packages1() == 0
    async with pair.gw1.db.sessionmaker() as session:
        [receipt] = (await session.scalars(select(UpstreamReceipt))).all()
        assert receipt.state == "rejected" and "FORBIDDEN" in (receipt.last_error or "")
    assert (await pair.connector.poller.run_once()).rejected == 0  # reported once


async def test_forwarding_retries_with_backoff(pair: Pair, monkeypatch) -> None:
    r = await pair.gw1.post_package(document_a_to_b(), pair.keys[A])
    assert r.status_code == 202
    forwarder = pair.connector.forwarder

    async def down(*_a: Any, **_k: Any) -> str:
        raise VxpClientError("sendEdoc", "NETWORK", "ConnectError: national axis down")

    monkeypatch.setattr(pair.connector.client, "send_edoc", down)
    stats = await forwarder.run_once()
    assert (stats.sent, stats.retrying) == (0, 3)
    assert (await forwarder.run_once()).retrying == 0  # backing off: not due yet
    timeline = (
        await pair.gw1.get(
            f"/api/v1/packages/{r.json()['package_id']}/timeline", await pair.gw1.admin_key()
        )
    ).json()
    assert all("national axis down" in x["last_error"] for x in timeline["recipients"])
    assert {x["state"] for x in timeline["recipients"]} == {"pending"}

    monkeypatch.undo()
    async with pair.gw1.db.sessionmaker() as session:
        for row in (await session.scalars(select(UpstreamForward))).all():
            row.next_attempt_at = row.created_at  # due again
        await session.commit()
    assert (await forwarder.run_once()).sent == 3


async def test_no_upstream_keeps_refusing_unknown_recipients(make_gateway) -> None:
    gw = await make_gateway()
    await gw.add_agency(A)
    key = await gw.add_system("qlvb-a", A)
    r = await gw.post_package(document_a_to_b(), key)
    assert r.status_code == 422 and r.json()["error"]["code"] == "RECIPIENT_UNKNOWN"


async def test_connector_runs_in_the_server_lifespan(
    gateway_settings, sqlite_template, tmp_path
) -> None:
    fast = {
        "connector_in_server": True,
        "upstream_forward_interval": 0.05,
        "upstream_poll_interval": 0.05,
    }
    async with two_gateways(gateway_settings, sqlite_template, tmp_path, **fast) as p:
        r = await p.gw1.post_package(document_a_to_b(), p.keys[A])
        assert r.status_code == 202
        for _ in range(200):
            if await p.gw2.count("packages") == 1:
                break
            await asyncio.sleep(0.05)
        inbox = (await p.gw2.get("/api/v1/inbox", p.keys[B])).json()
        assert [i["sender"] for i in inbox["items"]] == [A]


# ------------------------------------------------------------------------- registry sync


async def test_registry_sync_reports_and_never_deletes(pair: Pair) -> None:
    gw1 = pair.gw1
    # gateway 1 knows B only as an auto-created remote agency, and A2 only locally
    r = await gw1.post_package(document_a_to_b(), pair.keys[A])
    assert r.status_code == 202
    db1, client = gw1.db, pair.connector.client
    groups = gw1.app.state.settings.local_code_groups

    dry = await sync_agencies(db1, client, apply=False, local_groups=groups)
    assert not dry.applied
    assert {c["code"] for c in dry.changed} == {B, H14, G17}  # names from the national axis
    assert A2 in dry.missing and A not in dry.missing
    assert dry.new == []
    agency = (await gw1.get(f"/api/v1/agencies/{B}", await gw1.admin_key())).json()
    assert agency["name"].startswith("Cơ quan ngoài tỉnh")

    # a new unit appears upstream
    await pair.gw2.add_agency("000.00.05.H02", "Sở Tư pháp tỉnh 2", parent_code=B)
    applied = await sync_agencies(db1, client, apply=True, local_groups=groups)
    assert applied.applied
    assert [n["code"] for n in applied.new] == ["000.00.05.H02"]
    assert applied.new[0]["delivery_mode"] == "upstream"
    new = (await gw1.get("/api/v1/agencies/000.00.05.H02", await gw1.admin_key())).json()
    assert new["parent_code"] == B and new["delivery_mode"] == "upstream"
    b = (await gw1.get(f"/api/v1/agencies/{B}", await gw1.admin_key())).json()
    assert b["name"] == f"Cơ quan {B}"
    a2 = (await gw1.get(f"/api/v1/agencies/{A2}", await gw1.admin_key())).json()
    assert a2["active"] is True  # missing upstream, still here
    again = await sync_agencies(db1, client, apply=False, local_groups=groups)
    assert (again.new, again.changed) == ([], [])
