"""Push delivery: POST the package to an agency's endpoint, signed so it can tell it came from us.

Headers on every push:

    Content-Type: application/xml; charset=utf-8  (notices to senders: application/json)
    X-Gateway-Delivery-Id: <delivery id — the same on every attempt, for de-duplication>
    X-Gateway-Timestamp: <RFC 3339 UTC, whole seconds, e.g. 2026-11-21T03:04:05Z>
    X-Gateway-Signature: sha256=<hex HMAC-SHA256(secret, timestamp "\\n" delivery_id "\\n" body)>

A recipient checks the signature with `verify_push_signature` (constant-time comparison and a
freshness window against replay). The shared secret is never logged nor put in an outcome.

The body goes out with an explicit Content-Length (receivers need not accept chunked encoding),
streamed from its pieces (gateway.edxml.trace.relay_parts: slices of the stored package), so
the worker never holds a second copy of a 25 MB package; at most `RESPONSE_LIMIT` bytes of an
answer are read. One client per worker process, HTTP/1.1 with keep-alive (issue 14).

Outcome classification: 2xx delivered; connection errors, timeouts, TLS errors, 408, 429 and
5xx are transient (retry, honouring Retry-After on 429/503); any other 4xx and every 3xx are
permanent (redirects are not followed: a 3xx means the endpoint is misconfigured).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

import httpx

from .backoff import RetryPolicy
from .jobs import DeliveryJob, HandlerResult

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/xml; charset=utf-8"
HEADER_DELIVERY_ID = "X-Gateway-Delivery-Id"
HEADER_TIMESTAMP = "X-Gateway-Timestamp"
HEADER_SIGNATURE = "X-Gateway-Signature"
SIGNATURE_SCHEME = "sha256="
USER_AGENT = "gateway-push/1"
_SNIPPET = 300
RESPONSE_LIMIT = 4096
"""Bytes of an answer read at most: enough to finish the usual short answer, so the connection
stays open for the next push, and for the snippet of an error; a longer one closes it."""
_CHUNK = 256 * 1024
"""Bytes per write to the connection: small pieces are joined up to it (one write, one
syscall, for a usual package), a large body is cut into writes of this size."""

_MAX_RETRY_AFTER = timedelta(days=1)

Body = bytes | bytearray | Sequence[bytes | bytearray | memoryview]
"""A push body: bytes, or pieces sent one after the other (gateway.edxml.trace.relay_parts)."""


def body_parts(body: Body) -> tuple[bytes | bytearray | memoryview, ...]:
    return (body,) if isinstance(body, bytes | bytearray | memoryview) else tuple(body)


# signing ------------------------------------------------------------------------------------
def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_push(secret: str, body: Body, *, delivery_id: str, timestamp: str) -> str:
    """The `X-Gateway-Signature` value for a push (over the pieces of `body`, as sent)."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(timestamp.encode("ascii"))
    mac.update(b"\n")
    mac.update(delivery_id.encode("utf-8"))
    mac.update(b"\n")
    for part in body_parts(body):
        mac.update(part)
    return SIGNATURE_SCHEME + mac.hexdigest()


def push_headers(
    secret: str,
    body: Body,
    *,
    delivery_id: str,
    now: datetime | None = None,
    content_type: str = CONTENT_TYPE,
) -> dict[str, str]:
    timestamp = format_timestamp(now or datetime.now(UTC))
    return {
        "Content-Type": content_type,
        "Content-Length": str(sum(len(part) for part in body_parts(body))),
        HEADER_DELIVERY_ID: delivery_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_SIGNATURE: sign_push(secret, body, delivery_id=delivery_id, timestamp=timestamp),
    }


class _Pieces:
    """The body as httpx streams it: the pieces in writes of up to `_CHUNK` bytes, never one
    copy of the whole (a small body is one write, a 25 MB one a hundred). Re-iterable; with
    the explicit Content-Length httpx sends no chunked encoding."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[bytes | bytearray | memoryview, ...]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if len(self.parts) == 1 and type(self.parts[0]) is bytes and len(self.parts[0]) <= _CHUNK:
            yield self.parts[0]  # the usual small signed package: as it is
            return
        pending: list[memoryview] = []
        size = 0
        for part in self.parts:
            view = memoryview(part)
            at = 0
            while at < len(view):
                piece = view[at : at + _CHUNK - size]
                pending.append(piece)
                size += len(piece)
                at += len(piece)
                if size == _CHUNK:
                    yield b"".join(pending)
                    pending, size = [], 0
        if pending:
            yield b"".join(pending)


def verify_push_signature(
    secret: str,
    body: bytes,
    *,
    delivery_id: str,
    timestamp: str,
    signature: str,
    now: datetime | None = None,
    tolerance: timedelta = timedelta(minutes=5),
) -> bool:
    """True when `signature` is ours for this body, id and timestamp, and the timestamp is
    within `tolerance` of `now` (replay protection). For recipients and tests."""
    try:
        moment = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return False
    if abs((now or datetime.now(UTC)) - moment) > tolerance:
        return False
    expected = sign_push(secret, body, delivery_id=delivery_id, timestamp=timestamp)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8"))


def verify_push_headers(
    secret: str, body: bytes, headers: httpx.Headers | dict[str, str], **kw: object
) -> bool:
    """`verify_push_signature` reading the three headers from a request's headers."""
    h = httpx.Headers(headers)
    if not all(k in h for k in (HEADER_DELIVERY_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE)):
        return False
    return verify_push_signature(
        secret,
        body,
        delivery_id=h[HEADER_DELIVERY_ID],
        timestamp=h[HEADER_TIMESTAMP],
        signature=h[HEADER_SIGNATURE],
        **kw,  # type: ignore[arg-type]
    )


# outcomes -----------------------------------------------------------------------------------
OutcomeKind = Literal["delivered", "transient", "permanent"]


@dataclass(frozen=True, slots=True)
class PushOutcome:
    kind: OutcomeKind
    reason: str
    status: int | None = None
    retry_after: timedelta | None = None
    sent_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed: timedelta | None = None

    @property
    def delivered(self) -> bool:
        return self.kind == "delivered"

    @property
    def transient(self) -> bool:
        return self.kind == "transient"

    @property
    def permanent(self) -> bool:
        return self.kind == "permanent"

    @property
    def endpoint_healthy(self) -> bool:
        """For the circuit breaker: the endpoint answered sensibly (2xx, or a 4xx about this
        particular request). Transient outcomes — including 429 — count as failures."""
        return self.kind != "transient"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> timedelta | None:
    """`Retry-After` as delta-seconds or an HTTP-date; None if absent or unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - (now or datetime.now(UTC))
    return min(max(delay, timedelta(0)), _MAX_RETRY_AFTER)


def classify_status(status: int) -> OutcomeKind:
    if 200 <= status < 300:
        return "delivered"
    if status in (408, 429) or status >= 500:
        return "transient"
    return "permanent"


def _snippet(data: bytes) -> str:
    text = data[:_SNIPPET].decode("utf-8", errors="replace")
    return " ".join(text.split())


def endpoint_origin(url: str) -> str:
    """`scheme://host:port` of an endpoint URL (the key for per-endpoint isolation)."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


# the client ---------------------------------------------------------------------------------
class PushClient:
    """The one `httpx.AsyncClient` of a worker process for all its pushes: HTTP/1.1 with
    keep-alive, a pool of as many connections as the worker runs jobs at once (each job holds
    at most one), so pushes reuse open connections instead of connecting each time."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        write_timeout: float = 30.0,
        pool_timeout: float = 10.0,
        concurrency: int = 16,
        keepalive_expiry: float = 4.0,
        verify: bool | ssl.SSLContext = True,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        # keepalive_expiry: under the 5 s idle timeout of common servers (uvicorn, many
        # proxies), so an idle connection is dropped here before the server closes it
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=write_timeout, pool=pool_timeout
            ),
            limits=httpx.Limits(
                max_connections=concurrency,
                max_keepalive_connections=concurrency,
                keepalive_expiry=keepalive_expiry,
            ),
            http1=True,
            http2=False,
            follow_redirects=False,
            verify=verify,
            transport=transport,
            # identity: the short answer is read as sent, never inflated
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PushClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def push(
        self,
        endpoint_url: str,
        body: Body,
        *,
        delivery_id: str,
        secret: str,
        now: datetime | None = None,
        content_type: str = CONTENT_TYPE,
    ) -> PushOutcome:
        """POST `body` (bytes, or pieces sent in order) to `endpoint_url`. Never raises for
        network or HTTP trouble: the answer is a `PushOutcome`. (Cancellation still
        propagates.)"""
        parts = body_parts(body)
        headers = push_headers(
            secret, parts, delivery_id=delivery_id, now=now, content_type=content_type
        )
        sent_at = datetime.now(UTC)
        started = time.monotonic()

        def outcome(kind: OutcomeKind, reason: str, **kw: object) -> PushOutcome:
            return PushOutcome(
                kind,
                reason,
                sent_at=sent_at,
                finished_at=datetime.now(UTC),
                elapsed=timedelta(seconds=time.monotonic() - started),
                **kw,  # type: ignore[arg-type]
            )

        try:
            async with self._client.stream(
                "POST", _url(endpoint_url), content=_Pieces(parts), headers=headers
            ) as response:
                status = response.status_code
                head = await _answer_head(response)
        except httpx.TimeoutException as exc:
            return outcome("transient", f"timeout ({type(exc).__name__})")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return outcome("permanent", f"bad endpoint URL: {exc}")
        except httpx.TransportError as exc:
            # connect refused/reset, DNS, TLS handshake or certificate, protocol errors
            return outcome("transient", f"{type(exc).__name__}: {_reason(exc)}")

        kind = classify_status(status)
        if kind == "delivered":
            return outcome("delivered", f"HTTP {status}", status=status)
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        reason = f"HTTP {status}"
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            reason += f" redirect to {location[:200]!r} (redirects are not followed)"
        elif head:  # a little of the error body, for the operator; never all of it
            reason += f": {_snippet(head)}"
        return outcome(kind, reason, status=status, retry_after=retry_after)


@lru_cache(maxsize=4096)
def _url(endpoint_url: str) -> httpx.URL:
    """An endpoint's URL parsed once, not on every push to it (a few thousand agencies)."""
    return httpx.URL(endpoint_url)


async def _answer_head(response: httpx.Response) -> bytes:
    """The answer read to its end when it is short (so the connection serves the next push),
    never more than RESPONSE_LIMIT bytes of it, undecoded."""
    if response.is_stream_consumed:  # read already (a test's MockTransport)
        return response.content[:RESPONSE_LIMIT]
    head = b""
    try:
        async for chunk in response.aiter_raw():
            head += chunk[: RESPONSE_LIMIT - len(head)]
            if len(head) >= RESPONSE_LIMIT:
                break
    except httpx.HTTPError:
        pass  # the status line decided the outcome; the connection is closed
    return head


def _reason(exc: Exception) -> str:
    text = str(exc) or exc.__class__.__name__
    return " ".join(text.split())[:_SNIPPET]


def result_for_outcome(
    outcome: PushOutcome,
    job: DeliveryJob,
    policy: RetryPolicy,
    *,
    elapsed: timedelta | None = None,
    rng: random.Random | None = None,
) -> HandlerResult:
    """Turn a push outcome into what the consumer should do with the job: done, retry after a
    jittered tier delay (at least any Retry-After), or dead (permanent, or out of attempts)."""
    if outcome.delivered:
        return HandlerResult.done(outcome.reason)
    if outcome.permanent:
        return HandlerResult.dead(f"permanent failure: {outcome.reason}")
    delay = policy.retry_delay(job.attempt, elapsed=elapsed, at_least=outcome.retry_after, rng=rng)
    if delay is None:
        return HandlerResult.dead(f"gave up after {job.attempt} attempts: {outcome.reason}")
    return HandlerResult.retry(delay, outcome.reason)
