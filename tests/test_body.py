"""gateway.body: the capped body read holds a large body once (issue 14)."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import pytest
from starlette.requests import Request

from gateway.body import read_body_limited
from gateway.errors import PayloadTooLarge

CHUNK = 64 * 1024  # what uvicorn hands the app at a time
SIZE = 8_000_000


def _request(body: bytes, *, declared: int | None) -> Request:
    starts = iter(range(0, len(body), CHUNK))

    async def receive() -> dict[str, Any]:
        start = next(starts, None)
        if start is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": body[start : start + CHUNK], "more_body": True}

    headers = [] if declared is None else [(b"content-length", str(declared).encode())]
    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-length"])
async def test_a_large_body_is_held_once(declared: bool) -> None:
    body = bytes(range(256)) * (SIZE // 256)
    request = _request(body, declared=len(body) if declared else None)
    gc.collect()
    tracemalloc.start()
    try:
        data = await read_body_limited(request, 10 * SIZE)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data == body
    assert type(data) is bytes
    # once plus a chunk or two and the buffer's growth margin; a list of chunks joined at the
    # end held it twice
    assert peak < 1.4 * SIZE


async def test_a_body_shorter_than_declared_is_what_arrived() -> None:
    data = await read_body_limited(_request(b"<a/>", declared=10), 100)
    assert data == b"<a/>"


async def test_an_empty_body() -> None:
    assert await read_body_limited(_request(b"", declared=0), 100) == b""
    assert await read_body_limited(_request(b"", declared=None), 100) == b""


async def test_a_body_over_the_limit_is_refused_while_read() -> None:
    with pytest.raises(PayloadTooLarge):
        await read_body_limited(_request(b"x" * 200_000, declared=None), 100_000)
    with pytest.raises(PayloadTooLarge):  # more than declared, and more than the limit
        await read_body_limited(_request(b"x" * 200_000, declared=50), 100_000)


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(PayloadTooLarge):
        await read_body_limited(_request(b"", declared=101), 100)
