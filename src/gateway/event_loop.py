"""The event loop of every long-running gateway process: uvloop where it is installed (Linux,
macOS), else the standard library's (Windows, or uvloop missing) — same behaviour, less CPU
per socket operation and callback (issue 14).

    from gateway import event_loop
    event_loop.run(main())                       # instead of asyncio.run(main())
    uvicorn.Config(app, loop=event_loop.UVICORN)  # the API server
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's default loop) where uvloop is absent."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop does not exist there
        return None
    return uvloop.new_event_loop


def name() -> str:
    """Which loop `run` uses: "uvloop" or "asyncio" (for start-up logs and benchmarks)."""
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """asyncio.run(main) on the fastest loop available."""
    with asyncio.Runner(debug=debug, loop_factory=loop_factory()) as runner:
        return runner.run(main)


UVICORN = "uvloop" if loop_factory() is not None else "asyncio"
"""uvicorn's `loop` setting for the same choice (uvicorn's "auto" would pick the same, but
naming it keeps the server, relay and worker on one rule)."""
