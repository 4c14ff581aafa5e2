"""gateway.event_loop: uvloop where installed, the standard loop where not (Windows)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from gateway import event_loop


async def loop_type() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_runs_on_uvloop_when_installed():
    pytest.importorskip("uvloop")
    assert event_loop.run(loop_type()).startswith("uvloop")


def test_falls_back_to_asyncio_without_uvloop(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    assert event_loop.run(loop_type()).startswith("asyncio")
