"""At most a few large package intakes at once (reading, parsing, validating, storing).

A 58 MiB package costs a few times its size in memory while it is read and validated; eight
at once added a GB. Requests whose declared Content-Length reaches `large_intake_bytes`, or
that declare none (chunked: size unknown until read), take one of `large_intake_slots` slots
*before* their body is read, and hold it until the intake is answered. Small packages never
wait. A large one waits at most `large_intake_wait_seconds` for a slot, then is answered 503
SERVICE_UNAVAILABLE with Retry-After (nothing was read or stored; send again). The slots are
per process (each uvicorn worker has its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from .errors import ServiceUnavailable


class LargeIntakeGate:
    def __init__(self, threshold_bytes: int, slots: int, wait_seconds: float):
        self.threshold_bytes = threshold_bytes
        self.wait_seconds = wait_seconds
        self._slots = asyncio.Semaphore(slots)

    def is_large(self, request: Request) -> bool:
        declared = request.headers.get("content-length")
        try:
            return declared is None or int(declared) >= self.threshold_bytes
        except ValueError:
            return False  # not a size: the body reader refuses it (400) without reading

    @asynccontextmanager
    async def admit(self, request: Request) -> AsyncIterator[None]:
        if not self.is_large(request):
            yield
            return
        try:
            async with asyncio.timeout(self.wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            raise ServiceUnavailable(
                "Đang xử lý nhiều gói tin lớn cùng lúc, vui lòng gửi lại sau",
                retry_after=max(1, round(self.wait_seconds)),
                details={"reason": "large_intakes_busy"},
            ) from None
        try:
            yield
        finally:
            self._slots.release()


def large_intake(request: Request) -> LargeIntakeGate:
    """The app's gate, made on first use from its settings (one event loop, no race)."""
    state = request.app.state
    gate = getattr(state, "large_intake_gate", None)
    if gate is None:
        settings = state.settings
        gate = LargeIntakeGate(
            settings.large_intake_bytes,
            settings.large_intake_slots,
            settings.large_intake_wait_seconds,
        )
        state.large_intake_gate = gate
    return gate
