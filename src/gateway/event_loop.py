"""One way to run a process's event loop: uvloop when it is importable (it comes with
uvicorn[standard] on Linux), else the standard library's. uvloop's loop costs noticeably less
CPU per socket operation, which is most of what the relay and the worker do."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows, or a build without uvloop
        return asyncio.run(coro)
    return uvloop.run(coro)
