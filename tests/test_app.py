"""The application shell: health, the error envelope, OpenAPI completeness, settings."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from gateway.app import create_app
from gateway.settings import EXAMPLE_NODE_CODE, Settings


async def test_health_and_unknown_route(gw):
    r = await gw.http.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["database"] in ("sqlite", "postgresql")
    missing = await gw.http.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = await gw.http.delete("/api/v1/health")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_request_validation_uses_the_envelope(gw):
    keys = await gw.setup("000.00.00.A80")
    r = await gw.get("/api/v1/inbox", keys["000.00.00.A80"], params={"limit": 0})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_FAILED"
    assert err["findings"][0]["path"].endswith("limit")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_openapi_is_complete(gw):
    spec = (await gw.http.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/packages",
        "/api/v1/inbox",
        "/api/v1/packages/{package_id}",
        "/api/v1/packages/{package_id}/timeline",
        "/api/v1/deliveries/{delivery_id}/ack",
        "/api/v1/admin/agencies",
        "/api/v1/admin/agencies/import",
        "/api/v1/admin/systems",
    ):
        assert path in paths, path
    post = paths["/api/v1/packages"]["post"]
    assert set(post["responses"]) >= {"202", "400", "401", "403", "413", "415", "422", "500"}
    assert "application/xml" in post["requestBody"]["content"]
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorEnvelope"
    )
    assert (
        "application/xml"
        in paths["/api/v1/packages/{package_id}"]["get"]["responses"]["200"]["content"]
    )
    assert {"401", "403", "404"} <= set(
        paths["/api/v1/packages/{package_id}/timeline"]["get"]["responses"]
    )
    schemes = spec["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)


def test_production_refuses_insecure_defaults():
    with pytest.raises(ValueError, match="GATEWAY_NODE_CODE"):
        Settings(environment="production", database_url="postgresql+asyncpg://x@y/z")
    with pytest.raises(ValueError, match="GATEWAY_DATABASE_URL"):
        Settings(environment="production", node_code="00.53.W00")
    ok = Settings(
        environment="production", node_code="00.53.W00", database_url="postgresql+asyncpg://x@y/z"
    )
    assert not ok.is_sqlite
    assert Settings().node_code == EXAMPLE_NODE_CODE


def test_production_service_needs_its_secrets_and_keys(tmp_path):
    settings = Settings(
        environment="production", node_code="00.53.W00", database_url="postgresql+asyncpg://x@y/z"
    )
    with pytest.raises(ValueError, match="GATEWAY_SECRETS_KEY") as caught:
        create_app(settings)
    assert "GATEWAY_SIGNING_KEY_FILE" in str(caught.value)
    assert "GATEWAY_TRUST_BUNDLE" in str(caught.value)


def test_bad_office_calendar_is_refused():
    with pytest.raises(ValueError):
        Settings(office_periods="17:00-07:30")


def test_default_database_is_sqlite_under_data_dir(tmp_path):
    s = Settings(data_dir=tmp_path)
    assert s.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"


async def test_bootstrap_admin_key_creates_the_first_admin_once(make_gateway):
    key = "gw_" + "b" * 40
    gw = await make_gateway(bootstrap_admin_key=SecretStr(key))
    me = await gw.get("/api/v1/me", key)
    assert me.status_code == 200, me.text
    # a second start (another replica, a restart) creates nothing more
    other = "gw_" + "c" * 40
    again = await make_gateway(bootstrap_admin_key=SecretStr(other))
    assert (await again.get("/api/v1/me", other)).status_code == 401
    assert await again.count("operators") == 1


async def test_bootstrap_admin_key_too_short_is_refused(make_gateway):
    with pytest.raises(ValueError, match="GATEWAY_BOOTSTRAP_ADMIN_KEY"):
        await make_gateway(bootstrap_admin_key=SecretStr("gw_short"))
