"""gateway.wiring: every process that handles deliveries closes outage incidents on recovery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway import wiring
from gateway.app import create_app
from gateway.cli import app as cli_app
from gateway.delivery import recovery
from gateway.outages import service as outages_service
from gateway.settings import Settings

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_listeners(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recovery, "_listeners", [])


async def test_a_recovery_closes_the_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[tuple[Any, Any, str, datetime]] = []

    async def close_on_recovery(db: Any, calendar: Any, target: str, *, at: datetime) -> None:
        closed.append((db, calendar, target, at))

    monkeypatch.setattr(outages_service, "close_on_recovery", close_on_recovery)
    wiring.wire()
    wiring.wire()
    await recovery.recovered("db", "calendar", "H17.01", at=AT)
    assert closed == [("db", "calendar", "H17.01", AT)]


def test_the_server_is_wired(tmp_path: Any) -> None:
    create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"))
    assert recovery.listeners() == (wiring.close_outage_on_recovery,)


def test_the_command_line_is_wired(tmp_path: Any) -> None:
    # the group's callback runs before any command (`gateway worker` among them)
    CliRunner().invoke(cli_app, ["validate", str(tmp_path / "missing.edxml")])
    assert recovery.listeners() == (wiring.close_outage_on_recovery,)
