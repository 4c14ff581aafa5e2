"""Dashboard pages through HTTP: overview, queues, search, timeline, dead letters with
resend/cancel (reason audited, CSRF, roles), escaping of agency-supplied text, language."""

from __future__ import annotations

import re

import pytest
from ops_support import A80, H17, create_operator, csrf_of, document, logged_in, login
from sqlalchemy import select, update

from gateway.audit.models import AuditEvent
from gateway.packages.models import Delivery

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

EVIL = "&lt;script&gt;alert('xss')&lt;/script&gt; &lt;b&gt;Báo cáo&lt;/b&gt;"  # as XML text


async def seed(gw) -> dict:
    keys = await gw.setup(A80, H17)
    ids = {}
    for n, subject in ((1, None), (2, EVIL), (3, None)):
        r = await gw.post_package(document(n, subject=subject), keys[A80])
        assert r.status_code == 202, r.text
        ids[n] = r.json()
    return ids


async def fail(gw, delivery_id: str, error: str = "HTTP 500 from the endpoint") -> None:
    async with gw.db.sessionmaker() as s:
        await s.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(state="failed", last_error=error, attempts=7)
        )
        await s.commit()


async def state_of(gw, delivery_id: str) -> str:
    async with gw.db.sessionmaker() as s:
        return (await s.get(Delivery, delivery_id)).state


async def test_pages_show_the_data(gw):
    ids = await seed(gw)
    await logged_in(gw, "lan")
    ov = await gw.http.get("/dashboard/")
    assert ov.status_code == 200
    assert re.search(r'id="packages-today">3<', ov.text)
    assert re.search(r'id="in-flight">3<', ov.text)
    assert "<svg" in ov.text

    q = await gw.http.get("/dashboard/queues")
    assert H17 in q.text and "Chờ nhận" in q.text

    # search: by DocumentId, by agency, by state, by a date range that excludes them
    doc_id = "000.00.00.A80,2026/10/01,2/OPS"
    r = await gw.http.get("/dashboard/packages", params={"document_id": doc_id})
    assert r.text.count('class="open"') == 1 and doc_id in r.text
    r = await gw.http.get("/dashboard/packages", params={"agency": H17, "status": "pending"})
    assert r.text.count('class="open"') == 3
    r = await gw.http.get("/dashboard/packages", params={"code": "VPCP"})
    assert r.text.count('class="open"') == 3
    r = await gw.http.get("/dashboard/packages", params={"date_to": "2020-01-01"})
    assert r.text.count('class="open"') == 0
    r = await gw.http.get("/dashboard/packages", params={"status": "failed"})
    assert r.text.count('class="open"') == 0

    tl = await gw.http.get(f"/dashboard/packages/{ids[1]['package_id']}")
    assert tl.status_code == 200
    assert H17 in tl.text and 'data-state="pending"' in tl.text
    assert "package.accepted" in tl.text  # the audit trail
    assert (await gw.http.get("/dashboard/packages/nope")).status_code == 404

    charts = await gw.http.get("/dashboard/charts", params={"days": 7})
    assert charts.text.count("<svg") == 3
    rep = await gw.http.get("/dashboard/reports", params={"month": "2026-10"})
    assert rep.status_code == 200 and 'data-agency="000.00.00.A80"' in rep.text


@sqlite_only
async def test_agency_text_is_escaped_everywhere(gw):
    ids = await seed(gw)
    await logged_in(gw, "lan")
    pages = [
        await gw.http.get("/dashboard/packages"),
        await gw.http.get(f"/dashboard/packages/{ids[2]['package_id']}"),
    ]
    await fail(gw, ids[2]["deliveries"][0]["delivery_id"], error="<img src=x onerror=alert(1)>")
    pages.append(await gw.http.get("/dashboard/dead-letters"))
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
        assert "<b>Báo cáo</b>" not in page.text
    assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;" in pages[0].text
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[2].text
    # a search term is echoed escaped too
    r = await gw.http.get("/dashboard/packages", params={"code": '"><script>x</script>'})
    assert "<script>x</script>" not in r.text


@sqlite_only
async def test_resend_and_cancel_from_the_dead_letter_view(gw):
    ids = await seed(gw)
    d1 = ids[1]["deliveries"][0]["delivery_id"]
    d3 = ids[3]["deliveries"][0]["delivery_id"]
    await fail(gw, d1)
    await fail(gw, d3)
    await logged_in(gw, "lan")  # role operator: may resend and cancel single deliveries
    page = await gw.http.get("/dashboard/dead-letters")
    assert page.text.count("data-delivery=") == 2
    assert "HTTP 500 from the endpoint" in page.text
    csrf = csrf_of(page.text)

    # no CSRF token, or a wrong one: 403 and nothing changes
    r = await gw.http.post(f"/dashboard/deliveries/{d1}/resend", data={"reason": "x"})
    assert r.status_code == 403
    r = await gw.http.post(
        f"/dashboard/deliveries/{d1}/resend", data={"reason": "x", "csrf_token": "0" * 64}
    )
    assert r.status_code == 403
    assert await state_of(gw, d1) == "failed"
    # a reason is required
    r = await gw.http.post(
        f"/dashboard/deliveries/{d1}/resend",
        data={"csrf_token": csrf, "reason": "  ", "back": "/dashboard/dead-letters"},
    )
    assert r.status_code == 303 and "flash=reason" in r.headers["location"]
    assert await state_of(gw, d1) == "failed"

    r = await gw.http.post(
        f"/dashboard/deliveries/{d1}/resend",
        data={
            "csrf_token": csrf,
            "reason": "Đơn vị đã sửa máy chủ",
            "back": "/dashboard/dead-letters",
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/dead-letters?flash=resent"
    assert await state_of(gw, d1) in ("pending", "delivered")  # poll recipient: in its inbox
    follow = await gw.http.get(r.headers["location"])
    assert "Đã đưa lại vào hàng đợi" in follow.text
    # resending it again: it is no longer failed
    r = await gw.http.post(
        f"/dashboard/deliveries/{d1}/resend",
        data={"csrf_token": csrf, "reason": "again", "back": "/dashboard/dead-letters"},
    )
    assert "flash=conflict" in r.headers["location"]

    r = await gw.http.post(
        f"/dashboard/deliveries/{d3}/cancel",
        data={"csrf_token": csrf, "reason": "Cơ quan đã giải thể", "back": "https://evil/"},
    )
    assert r.headers["location"] == "/dashboard/?flash=cancelled"
    assert await state_of(gw, d3) == "cancelled"

    async with gw.db.sessionmaker() as s:
        events = (
            await s.scalars(
                select(AuditEvent).where(
                    AuditEvent.action.in_(["delivery.resent", "delivery.cancelled"])
                )
            )
        ).all()
    got = {(e.action, e.actor, e.data["reason"]) for e in events}
    assert got == {
        ("delivery.resent", "operator:lan", "Đơn vị đã sửa máy chủ"),
        ("delivery.cancelled", "operator:lan", "Cơ quan đã giải thể"),
    }


@sqlite_only
async def test_bulk_resend_of_an_agency_is_for_admins(gw):
    ids = await seed(gw)
    for n in (1, 2, 3):
        await fail(gw, ids[n]["deliveries"][0]["delivery_id"])
    await logged_in(gw, "lan", "operator")
    page = await gw.http.get("/dashboard/dead-letters", params={"agency": H17})
    assert "/dashboard/agencies/" not in page.text  # no bulk form for an operator
    csrf = csrf_of(page.text)
    r = await gw.http.post(
        f"/dashboard/agencies/{H17}/resend", data={"csrf_token": csrf, "reason": "sửa xong"}
    )
    assert r.status_code == 403

    gw.http.cookies.clear()
    await create_operator(gw, "admin1", "admin")
    assert (await login(gw.http, "admin1")).status_code == 303
    page = await gw.http.get("/dashboard/dead-letters", params={"agency": H17})
    assert f"/dashboard/agencies/{H17}/resend" in page.text
    r = await gw.http.post(
        f"/dashboard/agencies/{H17}/resend",
        data={"csrf_token": csrf_of(page.text), "reason": "sửa xong", "back": "/dashboard/queues"},
    )
    assert r.headers["location"] == "/dashboard/queues?flash=resent"
    for n in (1, 2, 3):
        assert await state_of(gw, ids[n]["deliveries"][0]["delivery_id"]) != "failed"


@sqlite_only
async def test_english_toggle(gw):
    await logged_in(gw, "lan")
    vi = await gw.http.get("/dashboard/")
    assert 'lang="vi"' in vi.text and "Tổng quan" in vi.text
    assert 'href="/dashboard/?lang=en"' in vi.text
    en = await gw.http.get("/dashboard/", params={"lang": "en"})
    assert 'lang="en"' in en.text and "Overview" in en.text and "Packages today" in en.text
    # the choice sticks (cookie)
    again = await gw.http.get("/dashboard/queues")
    assert 'lang="en"' in again.text and "Queues per recipient agency" in again.text
    back = await gw.http.get("/dashboard/queues", params={"lang": "vi"})
    assert "Hàng đợi theo cơ quan nhận" in back.text


@sqlite_only
async def test_static_files_and_no_build_step(gw):
    css = await gw.http.get("/dashboard/static/dashboard.css")
    js = await gw.http.get("/dashboard/static/dashboard.js")
    assert css.status_code == js.status_code == 200
    assert len(css.content) < 20_000 and len(js.content) < 5_000
