"""Intake lets go of a large package's parts as soon as the last step that reads them ends
(issue 14): the base64 texts once the envelope signature is verified, the decoded files
before the database write (which copies the package's bytes while it runs)."""

from __future__ import annotations

import random
import tracemalloc
from typing import Any

from conftest import sample_bytes
from gateway.edxml import build_package, parse_package
from gateway.packages import intake_store, signatures

A80, H17 = "000.00.00.A80", "28.22.H17"
SIZE = 4_000_000  # the attachment; its base64 text is 4/3 of that


def _large_package() -> bytes:
    package = parse_package(sample_bytes("edoc_new.edxml"))
    data = b"%PDF-1.4\n" + random.Random(14).randbytes(SIZE) + b"\n%%EOF\n"
    main = package.attachments[0].model_copy(
        update={"data": data, "attachment_name": "vanban.pdf", "content_type": "application/pdf"}
    )
    return build_package(package.model_copy(update={"attachments": [main], "signature": None}))


def _live_from(module: str) -> int:
    """Bytes still held that were allocated in `module` (its last frame): the payload texts
    come from gateway.edxml.reader, the decoded files from gateway.edxml.parse."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, f"*/gateway/edxml/{module}")]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


async def test_large_parts_are_let_go_after_their_last_step(make_gateway, monkeypatch) -> None:
    gw = await make_gateway()
    keys = await gw.setup(A80, H17)
    body = _large_package()
    held: dict[str, int] = {}
    check_files, claim = signatures.check_document_files, intake_store.claim

    def files_step(*args: Any, **kwargs: Any) -> Any:
        held["texts at the files step"] = _live_from("reader.py")
        held["files at the files step"] = _live_from("parse.py")
        return check_files(*args, **kwargs)

    async def database_write(*args: Any, **kwargs: Any) -> Any:
        held["texts at the write"] = _live_from("reader.py")
        held["files at the write"] = _live_from("parse.py")
        return await claim(*args, **kwargs)

    monkeypatch.setattr(signatures, "check_document_files", files_step)
    monkeypatch.setattr(intake_store, "claim", database_write)
    tracemalloc.start(1)
    try:
        r = await gw.post_package(body, keys[A80])
    finally:
        tracemalloc.stop()

    assert r.status_code == 202, r.text
    assert held["files at the files step"] >= SIZE  # the files step does read the files
    assert held["texts at the files step"] < SIZE // 10
    assert held["files at the write"] < SIZE // 10
    assert held["texts at the write"] < SIZE // 10
