"""`gateway agencies push-secret` on the embedded SQLite default: secrets for push agencies that
arrived by import, shown once, sealed in the database, rotated on demand."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from gateway.cli import app
from gateway.settings import get_settings

SO_TTTT = "000.00.13.H99"  # push mode in the shipped example registry


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def sealed(data_dir, code: str) -> str | None:
    with sqlite3.connect(data_dir / "gateway.sqlite3") as conn:
        row = conn.execute("SELECT push_secret_sealed FROM agencies WHERE code = ?", (code,))
        return row.fetchone()[0]


def issued(output: str) -> dict[str, str]:
    return dict(line.split("\t") for line in output.splitlines() if "\t" in line)


def test_push_secrets_for_imported_agencies(cli_env):
    r = run("agencies", "import", "--example")
    assert r.exit_code == 0, r.output
    assert "chưa có khóa push" in r.output and "push-secret --missing" in r.output
    assert sealed(cli_env, SO_TTTT) is None

    r = run("agencies", "push-secret", "--missing")
    assert r.exit_code == 0, r.output
    secrets = issued(r.stdout)
    assert SO_TTTT in secrets and all(s.startswith("gwps_") for s in secrets.values())
    box = get_settings().secret_box()
    assert box.open(sealed(cli_env, SO_TTTT)) == secrets[SO_TTTT]  # stored sealed, not plain

    # nothing left to issue; a re-import says nothing about secrets any more
    assert issued(run("agencies", "push-secret", "--missing").stdout) == {}
    assert "khóa push" not in run("agencies", "import", "--example").output

    # rotation replaces the secret
    r = run("agencies", "push-secret", SO_TTTT)
    assert r.exit_code == 0, r.output
    [(code, rotated)] = issued(r.stdout).items()
    assert code == SO_TTTT and rotated != secrets[SO_TTTT]
    assert box.open(sealed(cli_env, SO_TTTT)) == rotated


def test_poll_agencies_and_unknown_codes_are_refused(cli_env):
    assert run("agencies", "import", "--example").exit_code == 0
    r = run("agencies", "push-secret", "000.00.00.H99")  # poll mode
    assert r.exit_code == 1 and "poll" in r.output
    r = run("agencies", "push-secret", "000.00.77.H99")
    assert r.exit_code == 1
    assert run("agencies", "push-secret").exit_code == 2  # nothing asked for
