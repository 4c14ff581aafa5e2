"""`gateway serve --workers N`: several server processes, only where the database allows it."""

from __future__ import annotations

from typer.testing import CliRunner

from gateway.cli import app


def test_several_server_processes_need_postgresql(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("GATEWAY_DATABASE_URL", raising=False)
    from gateway.settings import get_settings

    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code != 0
    assert "PostgreSQL" in result.output


def test_the_worker_factory_builds_the_app_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path))
    from gateway.server_cli import asgi_app
    from gateway.settings import get_settings

    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    application = asgi_app()
    assert application.openapi_url == "/api/v1/openapi.json"
