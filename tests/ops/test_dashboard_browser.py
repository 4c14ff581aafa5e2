"""The dashboard in a real browser: Debian's Chromium, driven by Playwright through its system
executable (Playwright never downloads a browser here).

The gateway runs under uvicorn in a thread (127.0.0.1, a free port) on a fresh SQLite database,
with a push endpoint that answers 500 until the test makes it healthy. An operator logs in,
finds a package by DocumentId, opens its timeline, resends the dead-lettered copy from the
dead-letter view with a reason, and watches it become delivered. Every step leaves a
screenshot in test-artifacts/dashboard/; with GATEWAY_SCREENSHOT_DOCS=1 the overview is also
saved as docs/dashboard.png (the README's screenshot).

Without /usr/bin/chromium (or Playwright) the test is skipped with the reason — unless
GATEWAY_REQUIRE_SERVICES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ops_support import (
    A80,
    FAST_DELIVERY,
    H17,
    PASSWORD,
    PushEndpoint,
    ThreadedServer,
    document,
)

from conftest import REQUIRE_SERVICES

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
G01 = "000.00.00.G01"


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} and GATEWAY_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


async def _make_admin(settings: Any) -> str:
    from gateway.db import Database
    from gateway.registry.service import RegistryService

    db = Database(settings)
    try:
        async with db.sessionmaker() as session:
            _, key = await RegistryService(session, "test").create_operator(
                "lan", "admin", PASSWORD
            )
            await session.commit()
        return key
    finally:
        await db.dispose()


def _seed_history(app: Any, api: httpx.Client, keys: dict[str, str]) -> None:
    """Two weeks of traffic A80 → G01 (poll), fetched after a while, two in three signed, and
    a few copies still waiting today, so the overview and the charts have something to show."""
    from gateway.db import utcnow
    from gateway.packages.service import SignatureVerdict

    async def some_signed(package: Any, _raw: bytes, _tree: Any = None) -> SignatureVerdict:
        signed = int(package.document_id.rsplit(",", 1)[1].split("/")[0]) % 3 != 0
        cls = "signed-valid" if signed else "unsigned"
        return SignatureVerdict(cls, not signed, {"class": cls})

    real_check = app.state.signature_check
    app.state.signature_check = some_signed
    start = utcnow().replace(hour=2, minute=0, second=0, microsecond=0)  # 09:00 in Vietnam
    send = {"Authorization": f"Bearer {keys[A80]}", "Content-Type": "application/xml"}
    n = 100
    for back in range(13, -1, -1):
        for i in range((back * 7) % 5 + 1 if back else 4):
            n += 1
            at = start - timedelta(days=back) + timedelta(minutes=37 * i)
            raw = document(n, priority=(0, 0, 1, 3)[i % 4] if not back else None)
            app.state.clock = lambda at=at: at
            r = api.post(
                "/api/v1/packages", content=raw.replace(H17.encode(), G01.encode()), headers=send
            )
            assert r.status_code == 202, r.text
            if not back:
                continue  # today's copies wait in G01's inbox
            fetched = at + timedelta(minutes=3 + 11 * i + 2 * back)
            app.state.clock = lambda fetched=fetched: fetched
            pid = r.json()["package_id"]
            r = api.get(f"/api/v1/packages/{pid}", headers={"Authorization": f"Bearer {keys[G01]}"})
            assert r.status_code == 200
    app.state.clock = utcnow
    app.state.signature_check = real_check


def test_operator_finds_a_package_and_resends_a_dead_letter(
    browser: Any, sqlite_template: Path, tmp_path: Path
) -> None:
    from gateway.app import create_app
    from gateway.settings import Settings

    db_path = tmp_path / "gateway.sqlite3"
    shutil.copy(sqlite_template, db_path)
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{db_path}",
        auto_migrate=False,
        **FAST_DELIVERY,
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # (Playwright's sync API keeps an event loop in this thread: use another one)
    with ThreadPoolExecutor(1) as pool:
        admin_key = pool.submit(asyncio.run, _make_admin(settings)).result()
    endpoint = PushEndpoint(status=500)
    with ThreadedServer(endpoint) as ep, ThreadedServer(create_app(settings), lifespan="on") as gw:
        base = gw.base_url
        app = gw.server.config.app
        admin = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=base, timeout=30) as api:
            keys = {}
            for code, extra in (
                (A80, {}),
                (G01, {}),
                (H17, {"delivery_mode": "push", "endpoint_url": f"{ep.base_url}/edxml"}),
            ):
                r = api.post(
                    "/api/v1/admin/agencies",
                    json={"code": code, "name": f"UBND {code}", **extra},
                    headers=admin,
                )
                assert r.status_code == 201, r.text
                r = api.post(
                    "/api/v1/admin/systems",
                    json={"name": f"qlvb-{code}", "agencies": [code]},
                    headers=admin,
                )
                keys[code] = r.json()["api_key"]
            _seed_history(app, api, keys)
            raw = document(1, subject="Về việc triển khai trục liên thông văn bản năm 2026")
            r = api.post(
                "/api/v1/packages",
                content=raw,
                headers={"Authorization": f"Bearer {keys[A80]}", "Content-Type": "application/xml"},
            )
            assert r.status_code == 202, r.text
            delivery_id = r.json()["deliveries"][0]["delivery_id"]
            document_id = "000.00.00.A80,2026/10/01,1/OPS"

            # the endpoint keeps failing: after the last attempt the copy is dead-lettered
            deadline = time.monotonic() + 30
            while True:
                r = api.get("/api/v1/admin/deliveries", params={"state": "failed"}, headers=admin)
                if any(d["id"] == delivery_id for d in r.json()["items"]):
                    break
                assert time.monotonic() < deadline, "the delivery never failed"
                time.sleep(0.1)

        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15_000)

        def shot(name: str) -> None:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

        try:
            # 1. every page wants a login
            page.goto(f"{base}/dashboard/")
            assert "/dashboard/login" in page.url
            shot("01-login")
            page.fill("input[name=username]", "lan")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url(f"{base}/dashboard/")
            assert page.locator("#failed").inner_text() == "1"
            shot("02-overview")

            # 2. find the package by its DocumentId
            page.click("nav >> text=Tra cứu")
            page.fill("input[name=document_id]", document_id)
            page.click("#search button[type=submit]")
            rows = page.locator("#results tbody tr")
            assert rows.count() == 1
            shot("03-search")

            # 3. its timeline: one copy for H17, failed, with the endpoint's error
            rows.first.locator("a.open").click()
            page.wait_for_selector("#timeline")
            assert page.locator("#document-id").inner_text() == document_id
            row = page.locator(f'#timeline tr[data-delivery="{delivery_id}"]')
            assert row.get_attribute("data-state") == "failed"
            assert "500" in row.locator(".error-text").inner_text()
            shot("04-timeline")

            # 4. the dead-letter view: resend with a reason once the agency fixed its side
            page.click("nav >> text=Gửi lỗi")
            dead = page.locator(f'#dead-letters tr[data-delivery="{delivery_id}"]')
            assert dead.count() == 1
            shot("05-dead-letters")
            endpoint.status = 200
            dead.locator("input[name=reason]").fill("Đơn vị đã khắc phục máy chủ nhận")
            dead.locator("button[value=resend]").click()
            page.wait_for_selector(".flash.ok")
            shot("06-resent")

            # 5. back on the timeline, the copy becomes delivered (poll the page)
            page.goto(f"{base}/dashboard/packages?document_id={document_id}")
            page.locator("#results a.open").first.click()
            deadline = time.monotonic() + 30
            while row.get_attribute("data-state") != "delivered":
                assert time.monotonic() < deadline, "the resent copy was never delivered"
                time.sleep(0.3)
                page.reload()
            assert "Đơn vị đã khắc phục máy chủ nhận" in page.locator("#audit").inner_text()
            shot("07-delivered")
            assert delivery_id in endpoint.hits

            # 6. the same dashboard in English
            page.click("a[data-lang-toggle]")
            page.wait_for_selector("html[lang=en]")
            page.click("nav >> text=Overview")
            assert page.locator("#failed").inner_text() == "0"
            shot("08-overview-en")
            page.click("nav >> text=Charts")
            assert page.locator("svg.chart").count() == 3
            shot("09-charts-en")
            if os.environ.get("GATEWAY_SCREENSHOT_DOCS") == "1":
                page.click("nav >> text=Overview")
                page.screenshot(path=str(ROOT / "docs" / "dashboard.png"), full_page=True)
        finally:
            context.close()


def test_admin_manages_operator_accounts(
    browser: Any, sqlite_template: Path, tmp_path: Path
) -> None:
    """An admin disables an operator, is refused a weak password for it, sets a strong one
    and enables it again; the operator then logs in with the new password."""
    from gateway.app import create_app
    from gateway.settings import Settings

    db_path = tmp_path / "gateway.sqlite3"
    shutil.copy(sqlite_template, db_path)
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{db_path}", auto_migrate=False
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _make_admin(settings)).result()  # "lan", admin
        pool.submit(asyncio.run, _make_operator(settings, "minh")).result()
    new_password = "ngọn-đèn-biển-sáng-xa-9"
    with ThreadedServer(create_app(settings), lifespan="on") as gw:
        base = gw.base_url
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(f"{base}/dashboard/login")
            page.fill("input[name=username]", "lan")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url(f"{base}/dashboard/")
            page.click("nav >> text=Tài khoản")
            minh = page.locator('#accounts tr[data-account="minh"]')
            minh.locator("form.account-active input[name=reason]").fill("Nghỉ phép dài ngày")
            minh.locator("form.account-active button").click()
            page.wait_for_selector(".flash.ok")
            assert "đã khóa" in minh.inner_text()

            minh.locator("form.account-password input[name=password]").fill("123456789012")
            minh.locator("form.account-password button").click()
            page.wait_for_selector(".flash.error")
            assert "12 ký tự" in page.locator(".flash.error").inner_text()

            minh.locator("form.account-password input[name=password]").fill(new_password)
            minh.locator("form.account-password button").click()
            page.wait_for_selector(".flash.ok")
            minh.locator("form.account-active button").click()  # enable again
            page.wait_for_selector(".flash.ok")
            assert "hoạt động" in minh.inner_text()
            page.screenshot(path=str(ARTIFACTS / "10-accounts.png"), full_page=True)

            page.click("form.inline button.link")  # log out
            page.wait_for_url(f"{base}/dashboard/login")
            page.fill("input[name=username]", "minh")
            page.fill("input[name=password]", new_password)
            page.click("button[type=submit].primary")
            page.wait_for_url(f"{base}/dashboard/")
            assert page.locator("nav >> text=Tài khoản").count() == 0  # not an admin
        finally:
            context.close()


async def _make_operator(settings: Any, name: str) -> None:
    from gateway.db import Database
    from gateway.registry.service import RegistryService

    db = Database(settings)
    try:
        async with db.sessionmaker() as session:
            await RegistryService(session, "test").create_operator(name, "operator", PASSWORD)
            await session.commit()
    finally:
        await db.dispose()
