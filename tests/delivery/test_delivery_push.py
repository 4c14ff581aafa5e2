"""Push client: signed headers, outcome classification (MockTransport), and real sockets
(a minimal HTTP server on 127.0.0.1: delivery, a read timeout, connect refused)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from delivery_support import job

from gateway.delivery.backoff import RetryPolicy
from gateway.delivery.push import (
    HEADER_DELIVERY_ID,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    PushClient,
    PushOutcome,
    endpoint_origin,
    parse_retry_after,
    result_for_outcome,
    sign_push,
    verify_push_headers,
    verify_push_signature,
)

SECRET = "s3cr3t-shared-with-agency"
BODY = "<edXML>Công văn số 1</edXML>".encode()
URL = "https://so-noi-vu.example.gov.vn/edxml"


def mock_client(handler) -> PushClient:
    return PushClient(transport=httpx.MockTransport(handler))


async def push_with(handler) -> PushOutcome:
    async with mock_client(handler) as client:
        return await client.push(URL, BODY, delivery_id="d-42", secret=SECRET)


async def test_headers_are_signed_and_verify() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    outcome = await push_with(handler)
    assert outcome.delivered and outcome.status == 202
    assert outcome.sent_at is not None and outcome.finished_at is not None
    (request,) = seen
    assert request.method == "POST"
    assert request.content == BODY
    assert request.headers["content-type"] == "application/xml; charset=utf-8"
    assert request.headers[HEADER_DELIVERY_ID] == "d-42"
    ts = request.headers[HEADER_TIMESTAMP]
    assert datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")  # RFC 3339, UTC, seconds
    assert request.headers[HEADER_SIGNATURE].startswith("sha256=")
    assert verify_push_headers(SECRET, BODY, request.headers)
    assert verify_push_signature(
        SECRET,
        BODY,
        delivery_id="d-42",
        timestamp=ts,
        signature=request.headers[HEADER_SIGNATURE],
    )
    # anything changed → rejected
    sig = request.headers[HEADER_SIGNATURE]
    assert not verify_push_signature(
        SECRET, BODY + b" ", delivery_id="d-42", timestamp=ts, signature=sig
    )
    assert not verify_push_signature(SECRET, BODY, delivery_id="d-43", timestamp=ts, signature=sig)
    assert not verify_push_signature("other", BODY, delivery_id="d-42", timestamp=ts, signature=sig)
    assert not verify_push_headers(SECRET, BODY, {})
    # the secret is nowhere in what was sent or returned
    assert SECRET not in repr(request.headers) and SECRET not in repr(outcome)


def test_signature_is_hmac_of_timestamp_id_body_and_freshness_is_checked() -> None:
    import hashlib
    import hmac

    ts = "2026-11-21T03:04:05Z"
    expected = hmac.new(SECRET.encode(), ts.encode() + b"\nd-1\n" + BODY, hashlib.sha256)
    sig = sign_push(SECRET, BODY, delivery_id="d-1", timestamp=ts)
    assert sig == "sha256=" + expected.hexdigest()
    at = datetime(2026, 11, 21, 3, 4, 5, tzinfo=UTC)
    ok = {"delivery_id": "d-1", "timestamp": ts, "signature": sig}
    assert verify_push_signature(SECRET, BODY, **ok, now=at + timedelta(minutes=4))
    assert not verify_push_signature(SECRET, BODY, **ok, now=at + timedelta(minutes=6))
    assert not verify_push_signature(SECRET, BODY, **ok, now=at - timedelta(minutes=6))
    assert not verify_push_signature(
        SECRET, BODY, delivery_id="d-1", timestamp="yesterday", signature=sig
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, "delivered"),
        (201, "delivered"),
        (204, "delivered"),
        (301, "permanent"),
        (302, "permanent"),
        (307, "permanent"),
        (400, "permanent"),
        (401, "permanent"),
        (403, "permanent"),
        (404, "permanent"),
        (409, "permanent"),
        (413, "permanent"),
        (422, "permanent"),
        (408, "transient"),
        (429, "transient"),
        (500, "transient"),
        (502, "transient"),
        (503, "transient"),
        (504, "transient"),
    ],
)
async def test_status_classification(status: int, kind: str) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        headers = {"Location": "https://elsewhere.example/"} if 300 <= status < 400 else {}
        return httpx.Response(status, headers=headers, text="x" * 5000)

    outcome = await push_with(handler)
    assert outcome.kind == kind
    assert outcome.status == status
    assert calls == 1  # redirects are never followed
    assert len(outcome.reason) < 400  # only a snippet of the error body
    assert outcome.endpoint_healthy is (kind != "transient")


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_seconds_and_http_date(status: int) -> None:
    outcome = await push_with(lambda r: httpx.Response(status, headers={"Retry-After": "120"}))
    assert outcome.retry_after == timedelta(seconds=120)
    when = datetime.now(UTC) + timedelta(minutes=10)
    outcome = await push_with(
        lambda r: httpx.Response(status, headers={"Retry-After": format_datetime(when, True)})
    )
    assert outcome.retry_after is not None
    assert timedelta(minutes=9) < outcome.retry_after <= timedelta(minutes=10)


async def test_retry_after_ignored_elsewhere_and_when_garbage() -> None:
    outcome = await push_with(lambda r: httpx.Response(500, headers={"Retry-After": "120"}))
    assert outcome.transient and outcome.retry_after is None
    outcome = await push_with(lambda r: httpx.Response(429, headers={"Retry-After": "soon"}))
    assert outcome.transient and outcome.retry_after is None


def test_parse_retry_after() -> None:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    assert parse_retry_after(None) is None
    assert parse_retry_after("0") == timedelta(0)
    assert parse_retry_after("Sat, 21 Nov 2026 00:01:00 GMT", now=now) == timedelta(minutes=1)
    assert parse_retry_after("Fri, 20 Nov 2026 00:01:00 GMT", now=now) == timedelta(0)
    assert parse_retry_after("99999999") == timedelta(days=1)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timeout"),
        httpx.ReadTimeout("read timeout"),
        httpx.WriteTimeout("write timeout"),
        httpx.PoolTimeout("pool"),
        httpx.ReadError("reset by peer"),
        httpx.RemoteProtocolError("server disconnected"),
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
    ],
)
async def test_network_errors_are_transient(exc: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    outcome = await push_with(handler)
    assert outcome.transient, outcome
    assert outcome.status is None
    assert not outcome.endpoint_healthy


async def test_bad_url_is_permanent() -> None:
    async with PushClient() as client:
        outcome = await client.push("ftp://x.example/", BODY, delivery_id="d", secret=SECRET)
    assert outcome.permanent


def test_endpoint_origin() -> None:
    assert endpoint_origin("https://A.Example.vn/x?y") == "https://a.example.vn:443"
    assert endpoint_origin("http://a.example.vn/x") == "http://a.example.vn:80"
    assert endpoint_origin("http://[::1]:8080/x") == "http://[::1]:8080"


def test_result_for_outcome() -> None:
    policy = RetryPolicy(jitter=0)
    assert (
        result_for_outcome(PushOutcome("delivered", "HTTP 200", 200), job(), policy).kind == "done"
    )
    dead = result_for_outcome(PushOutcome("permanent", "HTTP 404", 404), job(), policy)
    assert dead.kind == "dead" and "404" in dead.reason
    retry = result_for_outcome(PushOutcome("transient", "HTTP 503", 503), job(), policy)
    assert retry.kind == "retry" and retry.delay == timedelta(seconds=30) and retry.count_attempt
    later = result_for_outcome(
        PushOutcome("transient", "HTTP 429", 429, retry_after=timedelta(minutes=5)),
        job(),
        policy,
    )
    assert later.delay == timedelta(minutes=5)
    gave_up = result_for_outcome(PushOutcome("transient", "timeout"), job(attempt=12), policy)
    assert gave_up.kind == "dead" and "gave up after 12 attempts" in gave_up.reason


# --- real sockets ---------------------------------------------------------------------------
class MiniHttp:
    """Just enough HTTP/1.1 on 127.0.0.1: records requests, answers per `mode`."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/inbox"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((headers, body))
            if self.mode == "slow":
                await asyncio.sleep(5)
            status, extra = {
                "ok": ("200 OK", ""),
                "busy": ("503 Service Unavailable", "Retry-After: 7\r\n"),
            }.get(self.mode, ("200 OK", ""))
            head = f"HTTP/1.1 {status}\r\n{extra}Content-Length: 2\r\nConnection: close\r\n\r\n"
            writer.write(head.encode() + b"ok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def http_server() -> AsyncIterator[MiniHttp]:
    srv = MiniHttp()
    srv.server = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    try:
        yield srv
    finally:
        srv.server.close()
        for task in list(srv.tasks):  # a "slow" handler still sleeping
            task.cancel()
        await asyncio.gather(*srv.tasks, return_exceptions=True)
        await srv.server.wait_closed()


async def test_real_server_delivery_timeout_and_retry_after(http_server: MiniHttp) -> None:
    async with PushClient(connect_timeout=1, read_timeout=0.5) as client:
        outcome = await client.push(http_server.url, BODY, delivery_id="d-real", secret=SECRET)
        assert outcome.delivered and outcome.status == 200
        headers, body = http_server.requests[-1]
        assert body == BODY
        assert verify_push_headers(SECRET, body, headers)

        http_server.mode = "busy"
        outcome = await client.push(http_server.url, BODY, delivery_id="d-real", secret=SECRET)
        assert outcome.transient and outcome.status == 503
        assert outcome.retry_after == timedelta(seconds=7)

        http_server.mode = "slow"
        outcome = await client.push(http_server.url, BODY, delivery_id="d-real", secret=SECRET)
        assert outcome.transient and "timeout" in outcome.reason.lower()
        assert outcome.elapsed is not None and outcome.elapsed < timedelta(seconds=3)
    # the same delivery id on every attempt
    assert {h["x-gateway-delivery-id"] for h, _ in http_server.requests} == {"d-real"}


async def test_real_connect_refused_is_transient() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there now
    async with PushClient(connect_timeout=1) as client:
        outcome = await client.push(
            f"http://127.0.0.1:{port}/", BODY, delivery_id="d", secret=SECRET
        )
    assert outcome.transient and "ConnectError" in outcome.reason
