"""`gateway axis secret` and `gateway axis sync-agencies` on the embedded SQLite default."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gateway.cli import app


@pytest.fixture(autouse=True)
def _english(monkeypatch) -> None:
    """These tests read the commands' English output (Vietnamese is the default)."""
    monkeypatch.setenv("GATEWAY_LANG", "en")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_secret_create_rotate_revoke(cli_env):
    assert run("agencies", "import", "--example").exit_code == 0
    r = run("systems", "create", "qlvb-stc", "--agency", "000.00.11.H99")
    assert r.exit_code == 0, r.output
    r = run("axis", "secret", "qlvb-stc")
    assert r.exit_code == 0, r.output
    assert "systemid: 000.00.11.H99" in r.stdout
    first = r.stdout.split("secret:")[1].split()[0]
    r = run("axis", "secret", "qlvb-stc")
    second = r.stdout.split("secret:")[1].split()[0]
    assert first != second and len(second) >= 40
    assert second not in (cli_env / "gateway.sqlite3").read_bytes().decode("latin-1")  # sealed
    r = run("axis", "secret", "qlvb-stc", "--revoke")
    assert r.exit_code == 0 and "disabled" in r.stdout
    r = run("axis", "secret", "no-such-system")
    assert r.exit_code == 1 and "NOT_FOUND" in r.output


def test_policy(cli_env):
    assert run("agencies", "import", "--example").exit_code == 0
    assert run("systems", "create", "qlvb-stc", "--agency", "000.00.11.H99").exit_code == 0
    r = run("axis", "policy", "qlvb-stc")
    assert r.exit_code == 1 and "NOT_FOUND" in r.output  # no VXP credential yet
    assert run("axis", "secret", "qlvb-stc").exit_code == 0
    r = run("axis", "policy", "qlvb-stc", "--admin", "--max-skew", "600", "--allow", "10.0.0.0/8")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {
        "vxp_system_id": "000.00.11.H99",
        "admin": True,
        "max_skew_seconds": 600.0,
        "allowed_sources": ["10.0.0.0/8"],
    }
    r = run("axis", "policy", "qlvb-stc", "--no-admin", "--max-skew", "0", "--allow-any")
    assert json.loads(r.stdout) == {
        "vxp_system_id": "000.00.11.H99",
        "admin": False,
        "max_skew_seconds": None,
        "allowed_sources": [],
    }
    r = run("axis", "policy", "qlvb-stc", "--allow", "nowhere")
    assert r.exit_code == 1 and "VALIDATION_FAILED" in r.output


def test_sync_needs_an_upstream(cli_env):
    r = run("axis", "sync-agencies")
    assert r.exit_code == 2 and "GATEWAY_UPSTREAM_URL" in r.output
