"""Dashboard login: sessions (cookie flags, expiry, idle timeout, logout), CSRF on every form,
lockout after repeated failures, roles."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from ops_support import PASSWORD, create_operator, csrf_of, logged_in, login
from sqlalchemy import select

from gateway.db import utcnow
from gateway.ops.models import LoginAttempt, OperatorSession
from gateway.ops.sessions import COOKIE, hash_token

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_pages_need_a_login_and_login_sets_a_strict_httponly_cookie(gw):
    for path in (
        "/dashboard/",
        "/dashboard/queues",
        "/dashboard/dead-letters",
        "/dashboard/packages",
        "/dashboard/charts",
        "/dashboard/reports",
        "/dashboard/reports/monthly.csv?month=2026-10",
    ):
        r = await gw.http.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/dashboard/login?next="), path

    await create_operator(gw, "lan")
    r = await login(gw.http, "lan", next_path="/dashboard/queues")
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/queues"
    cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and COOKIE in v)
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/dashboard" in lowered
    assert "secure" not in lowered  # plain http in tests; https sets it
    token = gw.http.cookies.get(COOKIE)
    async with gw.db.sessionmaker() as s:
        row = await s.get(OperatorSession, hash_token(token))
        assert row is not None and token not in (row.id,)  # only the hash is stored
        assert row.expires_at - row.created_at == timedelta(hours=8)

    page = await gw.http.get("/dashboard/queues")
    assert page.status_code == 200
    assert "lan" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store"


@sqlite_only
async def test_secure_cookie_over_https(gw):
    await create_operator(gw, "lan")
    async with httpx.AsyncClient(
        transport=gw.http._transport, base_url="https://gateway.test"
    ) as https:
        r = await login(https, "lan")
        assert r.status_code == 303
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and COOKIE in v)
        assert "secure" in cookie.lower()
        assert (await https.get("/dashboard/")).status_code == 200


@sqlite_only
async def test_wrong_password_open_redirect_and_lockout(make_gateway):
    gw = await make_gateway(dashboard_login_max_failures=3)
    await create_operator(gw, "minh")
    for _ in range(3):
        r = await login(gw.http, "minh", "sai-mat-khau")
        assert r.status_code == 401
        assert "Sai tên đăng nhập hoặc mật khẩu" in r.text
    # locked: even the right password is refused for now
    r = await login(gw.http, "minh")
    assert r.status_code == 429
    assert COOKIE not in gw.http.cookies
    # the window passes (pinned clock): the right password works again
    gw.app.state.clock = lambda: utcnow() + timedelta(minutes=16)
    r = await login(gw.http, "minh", next_path="https://evil.example/")
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/"  # never an open redirect
    async with gw.db.sessionmaker() as s:
        failures = (await s.scalars(select(LoginAttempt).where(LoginAttempt.ok.is_(False)))).all()
    assert failures == []  # a success clears the failures
    # unknown user: same answer as a wrong password
    gw.http.cookies.clear()
    r = await login(gw.http, "khong-co", PASSWORD)
    assert r.status_code == 401


@sqlite_only
async def test_session_expires_after_idle_time_and_after_its_lifetime(gw):
    await logged_in(gw, "hoa")
    assert (await gw.http.get("/dashboard/")).status_code == 200
    start = utcnow()
    # 29 minutes later: still in (and the visit counts as activity)
    gw.app.state.clock = lambda: start + timedelta(minutes=29)
    assert (await gw.http.get("/dashboard/")).status_code == 200
    # 29 + 29 minutes: alive, because the last visit refreshed last_seen_at
    gw.app.state.clock = lambda: start + timedelta(minutes=58)
    assert (await gw.http.get("/dashboard/")).status_code == 200
    # 31 minutes idle: out, with the "expired" message
    gw.app.state.clock = lambda: start + timedelta(minutes=58 + 31)
    r = await gw.http.get("/dashboard/")
    assert r.status_code == 303 and "expired=1" in r.headers["location"]
    page = await gw.http.get(r.headers["location"])
    assert "hết hạn" in page.text

    # a fresh login, kept busy, still ends after 8 hours
    gw.app.state.clock = utcnow
    await login(gw.http, "hoa")
    t0 = utcnow()
    for minutes in range(20, 8 * 60, 20):
        gw.app.state.clock = lambda m=minutes: t0 + timedelta(minutes=m)
        assert (await gw.http.get("/dashboard/")).status_code == 200, minutes
    gw.app.state.clock = lambda: t0 + timedelta(hours=8, seconds=1)
    assert (await gw.http.get("/dashboard/")).status_code == 303


@sqlite_only
async def test_logout_ends_the_session_and_needs_csrf(gw):
    await logged_in(gw, "tuan")
    page = await gw.http.get("/dashboard/")
    token = gw.http.cookies.get(COOKIE)
    # without / with a wrong CSRF token: 403, still logged in
    assert (await gw.http.post("/dashboard/logout")).status_code == 403
    r = await gw.http.post("/dashboard/logout", data={"csrf_token": "x" * 64})
    assert r.status_code == 403
    assert (await gw.http.get("/dashboard/")).status_code == 200
    r = await gw.http.post("/dashboard/logout", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/login"
    assert (await gw.http.get("/dashboard/")).status_code == 303
    # the old cookie is dead for good, even if replayed
    gw.http.cookies.set(COOKIE, token, path="/dashboard")
    assert (await gw.http.get("/dashboard/")).status_code == 303
    async with gw.db.sessionmaker() as s:
        row = await s.get(OperatorSession, hash_token(token))
        assert row.revoked_at is not None


@sqlite_only
async def test_login_form_itself_is_csrf_protected(gw):
    await create_operator(gw, "an")
    r = await gw.http.post(
        "/dashboard/login", data={"username": "an", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert r.status_code == 403
    assert COOKIE not in gw.http.cookies


@sqlite_only
async def test_deactivated_operator_is_logged_out(gw):
    from gateway.auth.models import Operator

    await logged_in(gw, "binh")
    async with gw.db.sessionmaker() as s:
        op = (await s.scalars(select(Operator).where(Operator.username == "binh"))).one()
        op.active = False
        await s.commit()
    assert (await gw.http.get("/dashboard/")).status_code == 303
