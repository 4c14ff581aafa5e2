"""gateway.delivery.recovery: the hook a committed push that ended a failure calls."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.delivery import recovery

AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_listeners(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recovery, "_listeners", [])


async def test_recovered_tells_every_listener_once_in_order() -> None:
    heard: list[tuple[str, Any, Any, str, datetime]] = []

    def listener(name: str):
        async def hear(db: Any, calendar: Any, target: str, *, at: datetime) -> None:
            heard.append((name, db, calendar, target, at))

        return hear

    first, second = listener("first"), listener("second")
    recovery.on_recovery(first)
    recovery.on_recovery(second)
    recovery.on_recovery(first)  # wired twice: still heard once
    assert recovery.listeners() == (first, second)

    await recovery.recovered("db", "calendar", "H17.01", at=AT)
    assert heard == [
        ("first", "db", "calendar", "H17.01", AT),
        ("second", "db", "calendar", "H17.01", AT),
    ]


async def test_recovered_without_listeners_does_nothing() -> None:
    await recovery.recovered("db", "calendar", "H17.01", at=AT)
