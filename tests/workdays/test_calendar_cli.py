"""`gateway calendar …` on the embedded SQLite default."""

from __future__ import annotations

import sqlite3

from typer.testing import CliRunner

from gateway.cli import app


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_calendar_cli_adds_shows_and_removes_changes(cli_env) -> None:
    r = run("calendar", "show", "--year", "2026")
    assert r.exit_code == 0, r.output
    assert "2026-09-02" in r.output and "Quốc khánh" in r.output
    assert "2026-08-22" in r.output  # the package's working Saturday

    r = run("calendar", "add-day-off", "2026-10-12", "--note", "Ngày thành lập tỉnh")
    assert r.exit_code == 0, r.output
    r = run("calendar", "add-working-day", "2026-10-10")
    assert r.exit_code == 0, r.output
    r = run("calendar", "add-office-hours", "04-15", "10-14", "07:00-11:30,13:00-16:30")
    assert r.exit_code == 0, r.output
    r = run("calendar", "show", "--year", "2026")
    assert "Ngày thành lập tỉnh" in r.output and "04-15 → 10-14" in r.output

    r = run("calendar", "add-day-off", "2026-10-10")
    assert r.exit_code == 1 and "CALENDAR_DAY_TAKEN" in r.output
    r = run("calendar", "add-office-hours", "04-15", "10-14", "16:30-07:00")
    assert r.exit_code == 1 and "CALENDAR_CHANGE_INVALID" in r.output
    r = run("calendar", "add-day-off", "2026-13-01")
    assert r.exit_code != 0 and "YYYY-MM-DD" in r.output

    with sqlite3.connect(cli_env / "gateway.sqlite3") as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM calendar_changes ORDER BY id")]
        actions = [
            row[0]
            for row in conn.execute(
                "SELECT action FROM audit_events WHERE action LIKE 'calendar.%' ORDER BY seq"
            )
        ]
    assert len(ids) == 3 and actions == ["calendar.change_added"] * 3
    r = run("calendar", "remove", str(ids[0]))
    assert r.exit_code == 0, r.output
    r = run("calendar", "remove", str(ids[0]))
    assert r.exit_code == 1 and "NOT_FOUND" in r.output
