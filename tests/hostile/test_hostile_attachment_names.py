"""Attachment names (issue 18, item 9), on SQLite and PostgreSQL: a name with a path
(`../../../../tmp/x.doc`, `\\`), control characters or bidirectional overrides is refused
422 ATTACHMENT_NAME_UNSAFE (never normalised), in the manifest and on the attachment, with
nothing stored."""

from __future__ import annotations

import pytest

from conftest import sample_bytes

A80, H17 = "000.00.00.A80", "28.22.H17"
EDOC = sample_bytes("edoc_new.edxml")
NAME = "1896_QD-TTg_m_294779.doc"
TABLES = ("packages", "deliveries", "outbox", "audit_events", "queued_jobs")


def named(name: str, *, only_attachment: bool = False) -> bytes:
    escaped = name.replace("&", "&amp;").encode()
    if only_attachment:  # the Attachment's name, not the manifest's
        head, _, tail = EDOC.rpartition(f"<AttachmentName>{NAME}</AttachmentName>".encode())
        return head + b"<AttachmentName>" + escaped + b"</AttachmentName>" + tail
    return EDOC.replace(NAME.encode(), escaped)


@pytest.mark.parametrize(
    ("name", "only_attachment"),
    [
        ("../../../../tmp/x.doc", False),
        ("../../../../tmp/x.doc", True),
        ("..\\..\\Windows\\x.doc", False),
        ("C:/Users/x.doc", False),
        ("bao-cao\tthang.doc", False),
        ("hoadon\u202ecod.exe", False),  # shows as "hoadonexe.doc"
        ("..", False),
    ],
)
async def test_unsafe_attachment_names_are_refused(gw, name, only_attachment) -> None:
    keys = await gw.setup(A80, H17)
    before = {t: await gw.count(t) for t in TABLES}
    r = await gw.post_package(named(name, only_attachment=only_attachment), keys[A80])
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    unsafe = [f for f in error["findings"] if f["code"] == "ATTACHMENT_NAME_UNSAFE"]
    assert unsafe, error["findings"]
    assert all(f["path"].endswith("/AttachmentName") for f in unsafe)
    assert {t: await gw.count(t) for t in TABLES} == before


async def test_vietnamese_names_with_spaces_and_dots_are_accepted(gw) -> None:
    keys = await gw.setup(A80, H17)
    r = await gw.post_package(named("Quyết định số 12. Phụ lục (bản 2).doc"), keys[A80])
    assert r.status_code == 202, r.text
