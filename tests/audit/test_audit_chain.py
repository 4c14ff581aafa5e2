"""The hash-chained audit log: intact after real activity (also concurrent), and any edit,
insertion or deletion is detected (both backends)."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import delete, select, update

from conftest import SAMPLE_DOCUMENT_ID, rewrite, sample_bytes
from gateway.audit.models import AuditEvent
from gateway.audit.service import GENESIS, AuditLog, verify_chain

A80, H17 = "000.00.00.A80", "28.22.H17"


async def activity(gw) -> None:
    keys = await gw.setup(A80, H17)
    posts = [
        gw.post_package(
            rewrite(sample_bytes("edoc_new.edxml"), SAMPLE_DOCUMENT_ID, f"{A80},2026/11/20,{n}/VP"),
            keys[A80],
        )
        for n in range(6)
    ]
    results = await asyncio.gather(*posts)  # concurrent appends must not fork the chain
    assert {r.status_code for r in results} == {202}
    first = results[0].json()
    await gw.get(f"/api/v1/packages/{first['package_id']}", keys[H17])
    await gw.post(f"/api/v1/deliveries/{first['deliveries'][0]['delivery_id']}/ack", keys[H17])


async def verify(gw):
    async with gw.db.sessionmaker() as s:
        return await verify_chain(s)


async def test_chain_intact_after_activity(gw):
    await activity(gw)
    report = await verify(gw)
    assert report.ok, report
    async with gw.db.sessionmaker() as s:
        events = (await s.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all()
    assert report.checked == len(events) > 10
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    actions = {e.action for e in events}
    assert {
        "operator.created",
        "agency.created",
        "system.created",
        "package.accepted",
        "delivery.delivered",
        "delivery.acknowledged",
    } <= actions


async def test_edit_is_detected(gw):
    await activity(gw)
    async with gw.db.sessionmaker() as s:
        await s.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(actor="mallory"))
        await s.commit()
    report = await verify(gw)
    assert not report.ok and report.first_bad_seq == 5
    assert "hash" in report.reason


async def test_deletion_is_detected(gw):
    await activity(gw)
    async with gw.db.sessionmaker() as s:
        await s.execute(delete(AuditEvent).where(AuditEvent.seq == 7))
        await s.commit()
    report = await verify(gw)
    assert not report.ok and report.first_bad_seq == 8


async def test_rehashing_one_event_breaks_the_next_link(gw):
    await activity(gw)
    from gateway.audit.service import event_hash

    async with gw.db.sessionmaker() as s:
        ev = await s.get(AuditEvent, 4)
        data = {**ev.data, "forged": True}
        new_hash = event_hash(ev.prev_hash, ev.seq, ev.at, ev.actor, ev.action, ev.subject, data)
        await s.execute(
            update(AuditEvent).where(AuditEvent.seq == 4).values(data=data, hash=new_hash)
        )
        await s.commit()
    report = await verify(gw)
    assert not report.ok and report.first_bad_seq == 5


async def test_append_in_a_rolled_back_transaction_leaves_no_trace(gw):
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.kept", actor="test")
        await s.commit()
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.dropped", actor="test", data={"ý": "Tiếng Việt"})
        await s.rollback()
    async with gw.db.sessionmaker() as s:
        await AuditLog(s).append("test.next", actor="test", data={"ý": "Tiếng Việt"})
        await s.commit()
    report = await verify(gw)
    assert report.ok and report.checked == 2
