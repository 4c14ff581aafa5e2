"""Shared helpers of the operations tests (dashboard, metrics, reports, logs)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from conftest import GatewayClient, rewrite, sample_bytes

A80, H17 = "000.00.00.A80", "28.22.H17"  # sender and recipient of the shipped sample
SAMPLE_DOC_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
PASSWORD = "mật-khẩu-đủ-dài-42"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def document(
    n: int | str,
    *,
    subject: str | None = None,
    promulgation: str | None = None,
    paper: int | None = None,
    priority: int | None = None,
) -> bytes:
    """The A80 → H17 sample as a new document with its own DocumentId (and fields)."""
    raw = rewrite(
        sample_bytes("edoc_new.edxml"), SAMPLE_DOC_ID, f"000.00.00.A80,2026/10/01,{n}/OPS"
    )
    if subject is not None:
        raw = rewrite(raw, "V/v kết nối, liên thông phần mềm quản lý văn bản", subject)
    if promulgation is not None:
        raw = rewrite(
            raw,
            "<edXML:PromulgationDate>2019/01/16</edXML:PromulgationDate>",
            f"<edXML:PromulgationDate>{promulgation}</edXML:PromulgationDate>",
        )
    if paper is not None:
        raw = rewrite(raw, "<edXML:Paper>0</edXML:Paper>", f"<edXML:Paper>{paper}</edXML:Paper>")
    if priority is not None:
        raw = rewrite(
            raw,
            "<edXML:Priority>0</edXML:Priority>",
            f"<edXML:Priority>{priority}</edXML:Priority>",
        )
    return raw


async def create_operator(gw: GatewayClient, name: str, role: str = "operator") -> str:
    """An operator with PASSWORD; returns its API key."""
    from gateway.registry.service import RegistryService

    async with gw.db.sessionmaker() as session:
        _, key = await RegistryService(session, "test").create_operator(name, role, PASSWORD)
        await session.commit()
    return key


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "no csrf_token in the page"
    return m.group(1)


async def login(
    http: httpx.AsyncClient,
    name: str,
    password: str = PASSWORD,
    *,
    next_path: str = "",
    code: str = "",
) -> httpx.Response:
    page = await http.get("/dashboard/login")
    assert page.status_code == 200, page.text
    form: dict[str, Any] = {
        "username": name,
        "password": password,
        "csrf_token": csrf_of(page.text),
        "next": next_path,
        "code": code,
    }
    return await http.post("/dashboard/login", data=form)


async def logged_in(gw: GatewayClient, name: str = "op", role: str = "operator") -> httpx.Response:
    await create_operator(gw, name, role)
    r = await login(gw.http, name)
    assert r.status_code == 303, r.text
    return r


# ------------------------------------------------------------------ servers in a thread

FAST_DELIVERY = {
    "delivery_retry_tiers": "1,2",
    "delivery_max_attempts": 2,
    "delivery_jitter": 0.0,
    "push_breaker_failures": 1000,
    "push_connect_timeout": 2.0,
    "push_read_timeout": 5.0,
    "relay_poll_interval": 0.05,
    "worker_grace_seconds": 2.0,
}


class ThreadedServer:
    """An ASGI app on 127.0.0.1 (a free port) served by uvicorn in a thread of its own, so it
    works from sync tests (Playwright) and async tests alike."""

    def __init__(self, app: Any, *, lifespan: str = "off") -> None:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=0,
                lifespan=lifespan,
                log_level="warning",
                access_log=False,
            )
        )
        self.thread: Any = None

    def __enter__(self) -> ThreadedServer:
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    @property
    def base_url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


class PushEndpoint:
    """An agency's push endpoint answering `status` (changeable while running)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.hits: list[str] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        headers = dict(scope.get("headers") or ())
        self.hits.append(headers.get(b"x-gateway-delivery-id", b"").decode())
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok" if self.status < 300 else b"no"})
