"""Bounded work per package (issue 18, item 3): validation is linear in the number of
elements, recipients are capped before any other work, and everything decompressed while
inspecting one package's attachments shares one budget.

No timings: work is counted (lines of gateway.edxml executed, bytes decompressed)."""

from __future__ import annotations

import io
import sys
import unicodedata
import zipfile
from datetime import date

from gateway.edxml import Limits, build_package, parse_package, validate_package
from gateway.edxml.attachments import ExpansionBudget, inspect_zip
from gateway.edxml.models import Attachment, Organization, Reference
from support.samples import sample_bytes

TODAY = date(2026, 12, 1)
MIB = 1024 * 1024
EDOC = sample_bytes("edoc_new.edxml")
# decomposed Vietnamese: every To also gets a TEXT_NORMALIZED warning, with its path
DECOMPOSED = unicodedata.normalize("NFD", "UBND xã Hòa Sơn")


def with_recipients(count: int) -> bytes:
    package = parse_package(EDOC)
    package.header.recipients = [
        # lowercase: ORGAN_ID_NONSTANDARD, one warning (with a path and line) per To
        Organization(organ_id=f"000.{i // 100:02d}.{i % 100:02d}.h17", organ_name=DECOMPOSED)
        for i in range(count)
    ]
    return build_package(package)


def lines_executed(data: bytes, limits: Limits) -> tuple[int, object]:
    """How many lines of gateway.edxml run while validating `data` (deterministic work)."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame, event, arg):
        return local if "gateway/edxml" in frame.f_code.co_filename else None

    sys.settrace(tracer)
    try:
        report = validate_package(data, limits=limits, today=TODAY)
    finally:
        sys.settrace(None)
    return count, report


def test_four_thousand_recipients_validate_in_linear_work() -> None:
    limits = Limits(max_recipients=5000)
    small, report = lines_executed(with_recipients(1000), limits)
    assert report.ok, report.errors
    large, report = lines_executed(with_recipients(4000), limits)
    assert report.ok, report.errors
    assert len(report.package.header.recipients) == 4000
    nonstandard = [f for f in report.warnings if f.code == "ORGAN_ID_NONSTANDARD"]
    assert len(nonstandard) == 4000
    assert all(f.line for f in nonstandard)  # every finding still has its source line
    assert nonstandard[-1].path.endswith("/To[4000]/OrganId")
    # 4x the elements: linear work is ~4x; the sibling scans this replaced were ~16x and more
    assert large / small < 5, (small, large)


def test_too_many_recipients_are_refused_before_other_work() -> None:
    report = validate_package(with_recipients(11), limits=Limits(max_recipients=10), today=TODAY)
    assert [f.code for f in report.errors] == ["RECIPIENTS_TOO_MANY"]
    assert report.package is None
    assert "11" in report.errors[0].message
    ok = validate_package(with_recipients(10), limits=Limits(max_recipients=10), today=TODAY)
    assert ok.ok, ok.errors


def zip_of(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def with_zipped_attachments(count: int, size: int) -> bytes:
    """`count` SDK-style attachments (a .txt zipped), each expanding to `size` bytes."""
    package = parse_package(EDOC)
    package.references = []
    package.attachments = []
    for i in range(count):
        cid = f"cid:{i}"
        package.references.append(Reference(content_id=cid, attachment_name=f"f{i}.txt"))
        package.attachments.append(
            Attachment(
                content_id=cid,
                attachment_name=f"f{i}.txt",
                data=zip_of(f"f{i}.txt", b"a" * size),
            )
        )
    return build_package(package)


def test_zip_attachments_share_one_package_budget() -> None:
    data = with_zipped_attachments(6, MIB)
    generous = Limits(max_zip_expanded_bytes=2 * MIB, max_package_expanded_bytes=64 * MIB)
    assert validate_package(data, limits=generous, today=TODAY).ok
    # each attachment is under its own cap; together they pass the package's budget
    tight = Limits(max_zip_expanded_bytes=2 * MIB, max_package_expanded_bytes=5 * MIB)
    report = validate_package(data, limits=tight, today=TODAY)
    bombs = [f for f in report.errors if f.code == "ZIP_BOMB"]
    assert len(bombs) == 1 and "gói tin" in bombs[0].message, report.errors
    # refused early: the attachments after the one that spent the budget are not opened
    assert bombs[0].path.startswith("/edXML/AttachmentEncoded/Attachment[")
    assert int(bombs[0].path.split("Attachment[")[1].split("]")[0]) <= 3


def test_budget_counts_what_is_really_decompressed() -> None:
    budget = ExpansionBudget(3 * MIB)
    data = zip_of("a.txt", b"a" * (2 * MIB))
    assert inspect_zip(data, "/x", Limits(), budget) == []
    assert budget.spent == 2 * MIB
    findings = inspect_zip(data, "/y", Limits(), budget)
    assert [f.code for f in findings] == ["ZIP_BOMB"]
    assert budget.exhausted
