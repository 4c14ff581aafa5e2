"""Poll-mode agencies that stop collecting their inbox are flagged after the configured working
hours (office calendar, Vietnamese holidays included); fetching the copy clears the flag."""

from __future__ import annotations

from outage_support import QUIET, Clock, vn

from ops.ops_support import A80, H17, document

URL = "/api/v1/admin/outages/stale-inboxes"


async def test_stale_inbox_is_flagged_and_cleared_by_fetching(make_gateway) -> None:
    gw = await make_gateway(**QUIET)
    clock = Clock(vn(2026, 11, 20, 16, 0))  # Friday 16:00
    gw.app.state.clock = clock
    keys = await gw.setup(A80, H17)  # both poll mode
    r = await gw.post_package(document(1), keys[A80])
    assert r.status_code == 202, r.text
    package_id = r.json()["package_id"]
    admin = await gw.admin()

    clock.set(2026, 11, 23, 16, 30)  # 1 h Friday + 7 h Monday: exactly 8 h, not more
    assert (await gw.http.get(URL, headers=admin)).json() == []
    clock.set(2026, 11, 23, 16, 31)
    [flag] = (await gw.http.get(URL, headers=admin)).json()
    assert flag["code"] == H17 and flag["waiting"] == 1
    assert flag["working_seconds"] == 8 * 3600 + 60
    clock.set(2026, 11, 24, 15, 0)  # Tuesday 24/11 is a public holiday: not counted
    [flag] = (await gw.http.get(URL, headers=admin)).json()
    assert flag["working_seconds"] == 8.5 * 3600

    r = await gw.get(f"/api/v1/packages/{package_id}", keys[H17])
    assert r.status_code == 200, r.text
    assert (await gw.http.get(URL, headers=admin)).json() == []


async def test_the_threshold_comes_from_the_settings(make_gateway) -> None:
    gw = await make_gateway(**QUIET, inbox_stale_working_hours=0.5)
    clock = Clock(vn(2026, 11, 20, 16, 0))
    gw.app.state.clock = clock
    keys = await gw.setup(A80, H17)
    assert (await gw.post_package(document(1), keys[A80])).status_code == 202
    clock.set(2026, 11, 20, 16, 31)
    assert len((await gw.http.get(URL, headers=await gw.admin())).json()) == 1


async def test_dashboard_flags_the_stale_inbox(make_gateway) -> None:
    from ops.ops_support import logged_in

    gw = await make_gateway(**QUIET, inbox_stale_working_hours=0.5)
    clock = Clock(vn(2026, 11, 20, 16, 0))
    gw.app.state.clock = clock
    keys = await gw.setup(A80, H17)
    assert (await gw.post_package(document(1), keys[A80])).status_code == 202
    clock.set(2026, 11, 20, 16, 31)
    await logged_in(gw)
    page = await gw.http.get("/dashboard/agencies")
    assert page.status_code == 200, page.text
    assert f'data-stale="{H17}"' in page.text and f'data-stale="{A80}"' not in page.text
