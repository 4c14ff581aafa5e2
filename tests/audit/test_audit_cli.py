"""`gateway audit verify` and the registry commands on the embedded SQLite default."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from gateway.cli import app


def run(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


def test_cli_registry_and_audit_verify(cli_env):
    r = run("agencies", "import", "--example")
    assert r.exit_code == 0, r.output
    assert "thêm mới" in r.output
    r = run("agencies", "show", "000.00.31.H99")
    assert r.exit_code == 0 and "Hòa Bình Thượng" in r.output
    assert "000.21.31.H99" in r.output  # children listed
    r = run("agencies", "list", "--parent", "000.00.33.H99")
    assert r.exit_code == 0 and "000.24.33.H99" in r.output
    r = run("systems", "create", "qlvb-stc", "--agency", "000.00.11.H99")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().splitlines()[-1].startswith("gw_")
    r = run("systems", "create", "qlvb-x", "--agency", "000.00.77.H99")
    assert r.exit_code == 1
    r = run("operators", "create", "admin", "--role", "admin")
    assert r.exit_code == 0 and r.stdout.strip().splitlines()[-1].startswith("gw_")
    r = run("systems", "list")
    assert r.exit_code == 0 and "qlvb-stc" in r.output

    r = run("audit", "verify")
    assert r.exit_code == 0, r.output
    assert "OK" in r.output

    with sqlite3.connect(cli_env / "gateway.sqlite3") as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    r = run("audit", "verify")
    assert r.exit_code == 1
    assert "HỎNG" in r.output and "2" in r.output


def test_cli_import_file_with_errors(cli_env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,parent_code\n000.00.00.H98,Tỉnh,\n000.00.01.H98,Sở,000.00.55.H98\n",
        encoding="utf-8",
    )
    r = run("agencies", "import", str(bad))
    assert r.exit_code == 1
    assert "000.00.55.H98" in r.output


def test_cli_db_upgrade(cli_env):
    r = run("db", "upgrade")
    assert r.exit_code == 0, r.output
    with sqlite3.connect(cli_env / "gateway.sqlite3") as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert version.startswith("2026_")
