"""The outage pages of the dashboard (both backends): the overview warns of an open incident;
/dashboard/outages lists it with the agency, since when, the working hours elapsed and the
documents affected, then, closed, with its durations; an incident's page lists the documents.
Agency-supplied text is escaped, Vietnamese intact."""

from __future__ import annotations

import re

from ops_support import logged_in

from outages.outage_support import recover, start, vn, weekend_outage

NAME = "UBND xã Hòa Sơn <script>alert(1)</script>"
NAME_SHOWN = "UBND xã Hòa Sơn &lt;script&gt;alert(1)&lt;/script&gt;"


async def test_open_and_closed_incidents_are_shown(make_gateway):
    h = await start(make_gateway, at=vn(2026, 11, 19, 9, 0), name=NAME)
    w = await weekend_outage(h)
    await logged_in(h.gw, "lan")

    overview = await h.gw.http.get("/dashboard/")
    assert 'id="open-outages"' in overview.text and "1 sự cố" in overview.text

    page = await h.gw.http.get("/dashboard/outages")
    assert page.status_code == 200
    assert "Sự cố mất kết nối" in page.text and "quá 4 giờ làm việc" in page.text
    open_table = page.text[page.text.index('id="open-outages"') :]
    row = re.search(r'<tr class="bad" data-incident="(\d+)">(.*?)</tr>', open_table, re.S)
    assert row, page.text
    incident_id, cells = row.group(1), row.group(2)
    assert NAME_SHOWN in cells and "<script>" not in page.text
    assert "20/11/2026 16:00:00" in cells  # since (Vietnam time)
    assert "4.5 h" in cells  # working hours elapsed (Monday 11:00)
    assert re.search(r'class="num">4<', cells)  # documents affected
    assert "HTTP 503" in cells

    detail = await h.gw.http.get(f"/dashboard/outages/{incident_id}")
    assert detail.status_code == 200
    assert detail.text.count("data-delivery=") == 4
    assert f'data-delivery="{w.flash}"' in detail.text
    assert "Hỏa tốc: &lt;b&gt;khắc phục sự cố&lt;/b&gt;" in detail.text
    assert "<b>khắc" not in detail.text
    assert (await h.gw.http.get("/dashboard/outages/999999")).status_code == 404

    await recover(h)
    await logged_in(h.gw, "thu")  # three hours later: the first session is over
    page = await h.gw.http.get("/dashboard/outages", params={"lang": "en"})
    assert "No open incident." in page.text
    closed = page.text[page.text.index('id="closed-outages"') :]
    assert f'data-incident="{incident_id}"' in closed
    assert "23/11/2026 14:00:00" in closed and "5.5 h" in closed and "2 d 22 h" in closed
    overview = await h.gw.http.get("/dashboard/")
    assert 'id="open-outages"' not in overview.text


async def test_outage_pages_need_a_login(make_gateway):
    h = await start(make_gateway, at=vn(2026, 11, 19, 9, 0))
    r = await h.gw.http.get("/dashboard/outages")
    assert r.status_code == 303 and "/dashboard/login" in r.headers["location"]
