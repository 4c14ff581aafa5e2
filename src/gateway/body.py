"""Reading request bodies with a size cap enforced while streaming (never read whole first)."""

from __future__ import annotations

from fastapi import Request

from .errors import BadRequest, PayloadTooLarge


async def read_body_limited(request: Request, limit: int) -> bytes:
    """The request body, or PayloadTooLarge as soon as more than `limit` bytes arrive.

    A Content-Length above the limit is refused before anything is read.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise BadRequest("Content-Length không hợp lệ") from None
        if size > limit:
            raise PayloadTooLarge(
                f"Gói tin {size} byte vượt quá giới hạn {limit} byte",
                details={"limit": limit, "size": size},
            )
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(
                f"Gói tin vượt quá giới hạn {limit} byte", details={"limit": limit}
            )
        chunks.append(chunk)
    return b"".join(chunks)
