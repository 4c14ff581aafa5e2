"""The push body on the wire (issue 14): pieces of the stored package streamed with an explicit
Content-Length (never chunked), the same bytes as one joined copy would be, no second copy of
a large package in memory, and keep-alive connections reused from one push to the next."""

from __future__ import annotations

import asyncio
import hashlib
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from gateway.delivery.push import PushClient, verify_push_headers
from gateway.edxml.trace import relay_bytes, relay_parts
from support.samples import sample_bytes

SECRET = "s3cr3t-shared-with-agency"
NODE = "000.00.00.G99"
MOMENT = datetime(2026, 11, 21, 1, 2, 3, tzinfo=UTC)


def large_unsigned(size: int) -> bytes:
    """edoc_new.edxml (no XMLDSig signature) grown to `size` bytes inside its attachment."""
    raw = sample_bytes("edoc_new.edxml")
    end = raw.index(b"</edXML:ContentTransferEncoded>")
    pad = size - len(raw)
    filler = (b"QUJDRA==" * (pad // 8 + 1))[: pad - pad % 8]
    return raw[:end] + filler + raw[end:]


class KeepAliveServer:
    """HTTP/1.1 on 127.0.0.1 that keeps connections open, answers `200 OK` with a short
    body, and records each request's headers and the length and SHA-256 of its body (read
    in small pieces, so the server itself holds no copy). A chunked request is refused."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[tuple[dict[str, str], int, str]] = []
        self.bodies: list[bytes] = []
        self.keep_bodies = True
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/edxml"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                if "transfer-encoding" in headers:
                    writer.write(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    return
                left = int(headers["content-length"])
                digest, kept = hashlib.sha256(), []
                while left:
                    piece = await reader.read(min(left, 65536))
                    if not piece:
                        return
                    digest.update(piece)
                    if self.keep_bodies:
                        kept.append(piece)
                    left -= len(piece)
                self.requests.append((headers, int(headers["content-length"]), digest.hexdigest()))
                self.bodies.append(b"".join(kept))
                writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}')
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[KeepAliveServer]:
    srv = KeepAliveServer()
    srv.server = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    try:
        yield srv
    finally:
        srv.server.close()
        await srv.server.wait_closed()


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
async def test_what_arrives_is_the_relay_bytes_with_their_content_length(
    server: KeepAliveServer, signed: bool
) -> None:
    raw = large_unsigned(700_000)  # several writes of the client
    if signed:
        raw = raw.replace(
            b"<Signature>", b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">', 1
        )
    expected = relay_bytes(raw, NODE, MOMENT)
    assert (expected == raw) is signed  # signed: byte for byte; unsigned: the TraceHeader
    async with PushClient() as client:
        outcome = await client.push(
            server.url, relay_parts(raw, NODE, MOMENT), delivery_id="d-1", secret=SECRET
        )
    assert outcome.delivered, outcome.reason
    [(headers, length, _digest)] = server.requests
    assert "transfer-encoding" not in headers
    assert headers["content-length"] == str(len(expected)) and length == len(expected)
    assert server.bodies == [expected]
    assert verify_push_headers(SECRET, expected, headers)  # signed over the bytes as sent


async def test_plain_bytes_still_go_with_their_content_length(server: KeepAliveServer) -> None:
    body = "<edXML>Công văn số 1</edXML>".encode()
    async with PushClient() as client:
        outcome = await client.push(server.url, body, delivery_id="d-2", secret=SECRET)
    assert outcome.delivered
    [(headers, _length, _digest)] = server.requests
    assert headers["content-length"] == str(len(body)) and server.bodies == [body]
    assert "transfer-encoding" not in headers


async def test_pushes_reuse_one_kept_alive_connection(server: KeepAliveServer) -> None:
    """The answer's short body is read to its end, so the connection serves the next push
    (answers left unread closed it: a new TCP connection for every push)."""
    async with PushClient(concurrency=4) as client:
        for n in range(5):
            outcome = await client.push(server.url, b"<x/>", delivery_id=f"d-{n}", secret=SECRET)
            assert outcome.delivered
    assert len(server.requests) == 5
    assert server.connections == 1


async def test_one_push_of_a_large_package_makes_no_second_copy(server: KeepAliveServer) -> None:
    """What one push of a 16 MB unsigned package allocates beyond the stored bytes (the
    inserted TraceHeader, the client's write buffers, the server's reads) stays under a
    quarter of the package: the body is streamed from slices of the stored bytes, never
    joined (a joined copy alone would be the whole package)."""
    raw = large_unsigned(16_000_000)
    server.keep_bodies = False
    async with PushClient() as client:
        await client.push(server.url, b"<warm-up/>", delivery_id="d-0", secret=SECRET)
        tracemalloc.start()
        try:
            outcome = await client.push(
                server.url, relay_parts(raw, NODE, MOMENT), delivery_id="d-1", secret=SECRET
            )
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert outcome.delivered, outcome.reason
    assert peak < len(raw) / 4, f"{peak / len(raw):.2f}x the package"
    expected = relay_bytes(raw, NODE, MOMENT)
    _headers, length, digest = server.requests[-1]
    assert (length, digest) == (len(expected), hashlib.sha256(expected).hexdigest())
