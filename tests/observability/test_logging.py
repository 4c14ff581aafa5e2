"""Structured logs: JSON lines with a request id that follows a package from intake through
the relay into the worker's push attempts (and is stored with the package)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time

import pytest

from gateway.observability.logging import accept_request_id, configure_logging
from gateway.packages.models import Delivery, Package
from ops.ops_support import A80, FAST_DELIVERY, H17, PushEndpoint, ThreadedServer, document

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def json_logs():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("json", "info", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def lines(stream: io.StringIO) -> list[dict]:
    out = []
    for line in stream.getvalue().splitlines():
        out.append(json.loads(line))  # every line is one JSON object
    return out


async def test_request_id_follows_a_package_into_the_worker(make_gateway, json_logs):
    endpoint = PushEndpoint(status=200)
    with ThreadedServer(endpoint) as server:
        gw = await make_gateway(**FAST_DELIVERY)
        keys = await gw.setup(A80)
        await gw.add_agency(H17, delivery_mode="push", endpoint_url=f"{server.base_url}/edxml")
        r = await gw.post_package(document(1), keys[A80], **{"X-Request-Id": "intake-4711"})
        assert r.status_code == 202, r.text
        assert r.headers["x-request-id"] == "intake-4711"
        body = r.json()
        delivery_id = body["deliveries"][0]["delivery_id"]
        deadline = time.monotonic() + 20
        while True:
            async with gw.db.sessionmaker() as s:
                if (await s.get(Delivery, delivery_id)).state == "delivered":
                    package = await s.get(Package, body["package_id"])
                    break
            assert time.monotonic() < deadline, "not delivered"
            await asyncio.sleep(0.05)
    assert package.request_id == "intake-4711"

    entries = lines(json_logs)
    for e in entries:
        assert {"ts", "level", "logger", "message"} <= set(e)
    mine = [e for e in entries if e.get("request_id") == "intake-4711"]
    loggers = {e["logger"] for e in mine}
    assert {"gateway.http", "gateway.delivery.relay", "gateway.delivery.service"} <= loggers
    intake = next(e for e in mine if e["logger"] == "gateway.http")
    assert intake["path"] == "/api/v1/packages" and intake["status"] == 202
    assert intake["duration_ms"] >= 0
    relayed = next(e for e in mine if e["logger"] == "gateway.delivery.relay")
    assert relayed["delivery_id"] == delivery_id and relayed["package_id"] == body["package_id"]
    worked = [e for e in mine if e["logger"] == "gateway.delivery.service"]
    assert worked[-1]["outcome"] == "done" and worked[-1]["delivery_id"] == delivery_id
    # other requests got ids of their own
    others = [e for e in entries if e["logger"] == "gateway.http" and e not in mine]
    assert others and all(len(e["request_id"]) == 32 for e in others)


@sqlite_only
async def test_unsafe_request_ids_are_replaced(gw):
    r = await gw.http.get("/api/v1/health", headers={"X-Request-Id": "bad id\twith spaces"})
    rid = r.headers["x-request-id"]
    assert rid != "bad id\twith spaces" and len(rid) == 32
    assert accept_request_id("a" * 65) is None
    assert accept_request_id("ok-1.2:3_x") == "ok-1.2:3_x"


def test_text_format_carries_the_request_id():
    from gateway.observability.logging import request_id_var

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    configure_logging("text", "info", stream=stream)
    try:
        token = request_id_var.set("abc-123")
        logging.getLogger("gateway.test").info("hello %s", "world")
        request_id_var.reset(token)
        logging.getLogger("gateway.test").info("no request")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    first, second = stream.getvalue().splitlines()
    assert "[abc-123] hello world" in first
    assert "[-] no request" in second
