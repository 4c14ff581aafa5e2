"""Call the app over raw ASGI, counting the body bytes it pulls through `receive`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Probe:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    bytes_read: int = 0  # body bytes the app asked for

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: list[bytes] | None = None,
    stall_after: int | None = None,
    raw_path: bytes | None = None,
    query: bytes = b"",
) -> Probe:
    """`chunks` arrive one per `receive`; with `stall_after`=n, the (n+1)th never comes."""
    probe = Probe()
    pending = list(chunks or [])
    sent = 0
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if stall_after is not None and sent >= stall_after:
            await never.wait()
        if not pending:
            await never.wait()  # body done: wait for the app to finish
        chunk = pending.pop(0)
        sent += 1
        probe.bytes_read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            probe.status = message["status"]
            probe.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            probe.body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path or path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in {"host": "gateway.test", **(headers or {})}.items()
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway.test", 80),
        "state": {},
    }
    # a guard, not a timing assertion: an app that never answers fails the test, not CI
    await asyncio.wait_for(app(scope, receive, send), 60)
    return probe
