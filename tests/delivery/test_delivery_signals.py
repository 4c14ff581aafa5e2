"""SIGTERM wiring for workers."""

from __future__ import annotations

import asyncio
import os
import signal

from gateway.delivery.worker_runtime import install_signal_handlers


async def test_signal_handlers_set_the_stop_event() -> None:
    stop = asyncio.Event()
    remove = install_signal_handlers(stop)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        async with asyncio.timeout(2):
            await stop.wait()
    finally:
        remove()
