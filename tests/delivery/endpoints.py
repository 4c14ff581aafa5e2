"""Agency endpoints for the delivery tests: a real HTTP server (uvicorn, 127.0.0.1, a free
port) in the test's event loop that verifies the gateway's HMAC headers, records what arrives
and de-duplicates by delivery id the way a recipient must, and answers according to a
behaviour (healthy, failing N times then recovering, always failing, blocking until released)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import uvicorn

from gateway.delivery.push import HEADER_DELIVERY_ID, verify_push_headers

Behaviour = Callable[["Endpoint", str, int], int]
"""(endpoint, delivery id, how many times this id arrived, counting this one) → HTTP status."""


def healthy(_e: Endpoint, _id: str, _n: int) -> int:
    return 200


def fail_first(times: int, status: int = 503) -> Behaviour:
    def behaviour(_e: Endpoint, _id: str, n: int) -> int:
        return status if n <= times else 200

    return behaviour


def always(status: int) -> Behaviour:
    return lambda _e, _id, _n: status


@dataclass
class Arrival:
    delivery_id: str
    body: bytes
    headers: dict[str, str]
    at: float
    status: int


@dataclass
class Endpoint:
    behaviour: Behaviour = healthy
    secret: str | None = None
    block: asyncio.Event | None = None
    """When set (an unset Event), every request waits for it before answering."""
    arrivals: list[Arrival] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    new: list[str] = field(default_factory=list)
    """Delivery ids accepted as new (2xx the first time): the recipient-side de-duplication."""
    bad_signatures: int = 0
    in_flight: int = 0
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/edxml"

    def accepted(self) -> set[str]:
        return set(self.new)

    def notices(self) -> list[dict]:
        return [
            json.loads(a.body)
            for a in self.arrivals
            if a.headers.get("content-type", "").startswith("application/json")
        ]

    async def app(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the sender died mid-body (a killed worker): no request, nothing to check
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        delivery_id = headers.get(HEADER_DELIVERY_ID.lower(), "")
        self.in_flight += 1
        self.entered.set()
        try:
            if self.block is not None:
                await self.block.wait()
            if self.secret is not None and not verify_push_headers(self.secret, body, headers):
                self.bad_signatures += 1
                status = 401
            else:
                self.seen[delivery_id] += 1
                status = self.behaviour(self, delivery_id, self.seen[delivery_id])
                if 200 <= status < 300 and delivery_id not in self.new:
                    self.new.append(delivery_id)
            self.arrivals.append(Arrival(delivery_id, body, headers, time.monotonic(), status))
        finally:
            self.in_flight -= 1
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": f"status {status}".encode()})

    async def start(self) -> Endpoint:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
        self.server = uvicorn.Server(config)
        # several servers in one test: leave the process's signal handlers alone
        self.server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.server.serve())
        async with asyncio.timeout(10):
            while not self.server.started:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self.block is not None:
            self.block.set()
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10):
                    await self.task


@contextlib.asynccontextmanager
async def endpoints(*behaviours: Behaviour) -> AsyncIterator[list[Endpoint]]:
    started = [await Endpoint(behaviour=b).start() for b in behaviours]
    try:
        yield started
    finally:
        for e in started:
            await e.stop()
