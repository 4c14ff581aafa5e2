"""API docs served by the gateway itself (no CDN: government networks are often offline) and
the landing page at `/`."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_swagger_ui_loads_only_from_the_gateway(gw):
    page = await gw.http.get("/api/v1/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    scripts_and_styles = [a for a in assets if a.endswith((".js", ".css"))]
    assert scripts_and_styles, page.text
    for url in scripts_and_styles:
        assert url.startswith("/"), f"{url} is not served by the gateway"
        asset = await gw.http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000
    assert "/api/v1/openapi.json" in page.text
    assert "cdn" not in page.text.lower()


async def test_landing_page_links_docs_dashboard_and_health(gw):
    r = await gw.http.get("/")
    assert r.status_code == 200
    assert "text/html" in r.headers["content-type"]
    for link in ("/api/v1/docs", "/dashboard/", "/api/v1/health", "/readyz"):
        assert f'href="{link}"' in r.text
    other = await gw.http.get("/", headers={"Accept-Language": "en"})
    assert "API documentation" in other.text


async def test_landing_page_leaves_out_a_disabled_dashboard(make_gateway):
    gw = await make_gateway(dashboard_enabled=False)
    r = await gw.http.get("/")
    assert r.status_code == 200
    assert "/dashboard" not in r.text
