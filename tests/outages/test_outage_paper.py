"""Documents handled on paper during an outage: recorded by an operator, reconciled after
recovery (keep the electronic copy that arrived too, or cancel it), audited."""

from __future__ import annotations

from outage_support import start, vn

PAPER = {
    "reference": "125/UBND-VP",
    "handled_on": "2026-11-23",
    "handled_by": "Trần Văn Bình (văn thư)",
    "note": "Gửi bản giấy qua bưu điện",
}


async def _failing(make_gateway):
    h = await start(make_gateway, at=vn(2026, 11, 20, 16, 0))
    first = await h.send(1)
    second = await h.send(2)
    h.endpoint.status = None
    jobs = {job.delivery_id: job for job, _ in await h.deliver()}
    return h, first, second, jobs


async def test_record_and_reconcile_keep_and_cancel(make_gateway) -> None:
    h, first, second, jobs = await _failing(make_gateway)
    admin = await h.gw.admin()
    h.clock.set(2026, 11, 23, 9, 0)
    ids = []
    for delivery_id in (first, second):
        r = await h.gw.http.post(
            f"/api/v1/admin/deliveries/{delivery_id}/paper", json=PAPER, headers=admin
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert r.json()["handled_by"] == "Trần Văn Bình (văn thư)"
    r = await h.gw.http.post(f"/api/v1/admin/deliveries/{first}/paper", json=PAPER, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "PAPER_NOT_ALLOWED"

    # the first copy is cancelled (the paper copy stands) while the endpoint is still down
    r = await h.gw.http.post(
        f"/api/v1/admin/paper/{ids[0]}/reconcile", json={"outcome": "cancel"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "cancelled"
    assert (await h.delivery(first)).state == "cancelled"
    # keep is refused while the electronic copy has not arrived
    r = await h.gw.http.post(
        f"/api/v1/admin/paper/{ids[1]}/reconcile", json={"outcome": "keep"}, headers=admin
    )
    assert r.status_code == 409, r.text

    # recovery: the second copy is delivered electronically too, then kept
    h.endpoint.status = 200
    h.clock.set(2026, 11, 23, 14, 0)
    assert (await h.handler(jobs[second].next_attempt())).kind == "done"  # its retry
    assert (await h.delivery(second)).state == "delivered"
    open_ = await h.gw.http.get("/api/v1/admin/paper?open_only=true", headers=admin)
    assert [p["id"] for p in open_.json()] == [ids[1]]
    r = await h.gw.http.post(
        f"/api/v1/admin/paper/{ids[1]}/reconcile", json={"outcome": "keep"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["outcome"] == "kept"
    assert (await h.gw.http.get("/api/v1/admin/paper?open_only=true", headers=admin)).json() == []
    r = await h.gw.http.post(
        f"/api/v1/admin/paper/{ids[1]}/reconcile", json={"outcome": "keep"}, headers=admin
    )
    assert r.status_code == 409

    recorded = await h.audit("paper.recorded")
    reconciled = await h.audit("paper.reconciled")
    assert len(recorded) == 2 and recorded[0].data["reference"] == "125/UBND-VP"
    assert [e.data["outcome"] for e in reconciled] == ["cancelled", "kept"]


async def test_paper_needs_an_undelivered_copy_and_valid_input(make_gateway) -> None:
    h = await start(make_gateway, at=vn(2026, 11, 20, 16, 0))
    h.endpoint.status = 200
    delivered = await h.send(1)
    await h.deliver()
    admin = await h.gw.admin()
    r = await h.gw.http.post(
        f"/api/v1/admin/deliveries/{delivered}/paper", json=PAPER, headers=admin
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "PAPER_NOT_ALLOWED"
    r = await h.gw.http.post("/api/v1/admin/deliveries/nope/paper", json=PAPER, headers=admin)
    assert r.status_code == 404
    r = await h.gw.http.post(
        f"/api/v1/admin/deliveries/{delivered}/paper",
        json={**PAPER, "handled_on": "2026-02-30"},
        headers=admin,
    )
    assert r.status_code == 422
    assert await h.gw.count("paper_handlings") == 0
