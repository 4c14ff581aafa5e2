"""Recovery (both backends): the first 2xx after the outage closes the incident with its
durations (wall-clock and working time) and drains the backlog at once, most urgent first —
copies waiting for a retry are queued again without burning an attempt, copies given up on
during the outage are resent (audited, "outage recovered"), a copy that failed before the
outage is left alone; the old retry jobs then find their copies delivered and push nothing;
an incident a crash left open is closed by the monitor."""

from __future__ import annotations

from outage_support import HOUR, start, vn, weekend_outage

from ops.ops_support import H17


async def test_recovery_closes_the_incident_and_drains_urgent_first(make_gateway):
    h = await start(make_gateway, at=vn(2026, 11, 19, 9, 0))
    w = await weekend_outage(h)
    assert await h.outbox() == []

    # Monday 14:00 the endpoint is back: the next document gets through
    h.clock.set(2026, 11, 23, 14, 0)
    h.endpoint.status = 200
    fresh = await h.send(5)
    [(_, result)] = await h.deliver()
    assert result.kind == "done"

    [incident] = await h.incidents()
    assert incident.closed_at == vn(2026, 11, 23, 14, 0)
    assert incident.duration_seconds == 70 * HOUR  # Friday 16:00 → Monday 14:00
    # working time: Friday 16:00–17:00, Monday 07:30–11:30 and 13:30–14:00
    assert incident.working_seconds == 5.5 * HOUR
    # every copy that waited during the outage (the one whose push ended it too, queued a
    # second before), not the one that had failed before it
    assert incident.affected == 5
    [closed] = await h.audit("outage.closed")
    assert closed.data["requeued"] == 3 and closed.data["resent"] == 1

    # the backlog, most urgent first, then oldest; waiting copies keep their attempt count
    queued = [(r.payload["delivery_id"], r.payload["attempt"]) for r in await h.outbox()]
    assert queued == [(w.flash, 2), (w.urgent, 2), (w.ordinary, 2), (w.gave_up, 1)]
    resent = await h.delivery(w.gave_up)
    assert (resent.state, resent.retry_from) == ("pending", vn(2026, 11, 23, 14, 0))
    [event] = await h.audit("delivery.resent")
    assert event.subject == f"delivery:{w.gave_up}"
    assert (event.actor, event.data["reason"]) == ("gateway:outage", "outage recovered")
    assert (await h.delivery(w.before)).state == "failed"

    h.endpoint.pushed.clear()
    await h.deliver()
    assert h.endpoint.pushed == [w.flash, w.urgent, w.ordinary, w.gave_up]
    for delivery_id in (w.flash, w.urgent, w.ordinary, w.gave_up, fresh):
        assert (await h.delivery(delivery_id)).state == "delivered"
    assert (await h.delivery(w.ordinary)).attempts == 2

    # the old retry job comes out of its tier later: the copy is delivered, nothing is pushed
    h.endpoint.pushed.clear()
    result = await h.handler(w.ordinary_job)
    assert (result.kind, result.reason) == ("done", "already delivered")
    assert h.endpoint.pushed == []

    # nothing opens again, nothing drains twice
    h.clock.set(2026, 11, 24, 9, 0)
    run = await h.monitor().run_once()
    assert (run.opened, run.closed) == ([], [])
    assert await h.outbox() == []


async def recovered_but_not_closed(make_gateway, monkeypatch):
    """An incident open since Friday 16:00 (raised Monday 11:00) whose endpoint recovers on
    Monday 14:00 while the process dies before closing it: returns the harness and the copy
    that was waiting."""
    import gateway.delivery.recovery as recovery

    h = await start(make_gateway, at=vn(2026, 11, 20, 16, 0))
    waiting = await h.send(1)
    await h.deliver()
    h.clock.set(2026, 11, 23, 11, 0)
    await h.monitor().run_once()

    async def crashed(*_a, **_k):
        return None

    monkeypatch.setattr(recovery, "_listeners", [crashed])  # in place of the outages closer
    h.clock.set(2026, 11, 23, 14, 0)
    h.endpoint.status = 200
    await h.send(2)
    await h.deliver()
    return h, waiting


async def test_the_monitor_closes_an_incident_left_open(make_gateway, monkeypatch):
    """The success is committed but its follow-up dies before closing the incident."""
    h, waiting = await recovered_but_not_closed(make_gateway, monkeypatch)
    [incident] = await h.incidents()
    assert incident.closed_at is None and (await h.delivery(waiting)).state == "pending"

    h.clock.set(2026, 11, 23, 14, 1)
    run = await h.monitor().run_once()
    [closed] = run.closed
    assert closed.closed_at == vn(2026, 11, 23, 14, 0)  # the success, not the monitor's run
    assert closed.working_seconds == 5.5 * HOUR
    assert [r.payload["delivery_id"] for r in await h.outbox()] == [waiting]


async def test_a_new_failure_after_a_lost_close_is_a_new_outage(make_gateway, monkeypatch):
    """Closed late by the monitor while failing again: the old incident ends at the success
    between, the new failure counts from its own start."""
    h, _ = await recovered_but_not_closed(make_gateway, monkeypatch)
    h.clock.set(2026, 11, 23, 15, 0)
    h.endpoint.status = 503
    await h.send(3)
    await h.deliver()

    h.clock.set(2026, 11, 23, 15, 30)
    run = await h.monitor().run_once()
    assert [i.closed_at for i in run.closed] == [vn(2026, 11, 23, 14, 0)]
    assert run.opened == []
    assert (await h.health(H17)).failing_since == vn(2026, 11, 23, 15, 0)
