"""Appending the gateway's TraceHeader to the bytes as they leave."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.edxml import append_trace_header, parse_package, validate_package
from support.samples import ALL_SAMPLES, sample_bytes

MOMENT = datetime(2026, 11, 21, 1, 2, 3, tzinfo=UTC)  # 08:02:03 in Vietnam


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_appended_package_is_valid_and_carries_the_new_trace(name: str) -> None:
    raw = sample_bytes(name)
    out = append_trace_header(raw, "00.99.W00", MOMENT)
    report = validate_package(out)
    assert report.ok, [str(f) for f in report.errors]
    trace = report.package.trace
    assert trace is not None
    last = trace.trace_headers[-1]
    assert (last.organ_id, last.timestamp) == ("00.99.W00", "2026/11/21 08:02:03")


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_everything_else_is_byte_for_byte_unchanged(name: str) -> None:
    raw = sample_bytes(name)
    out = append_trace_header(raw, "00.99.W00", MOMENT)
    assert len(out) > len(raw)
    # the insertion is one contiguous block: what precedes and follows it is the original
    prefix = 0
    while out[prefix] == raw[prefix]:
        prefix += 1
    assert out[prefix + (len(out) - len(raw)) :] == raw[prefix:]


def test_document_keeps_existing_traces_in_order() -> None:
    out = append_trace_header(sample_bytes("edoc_new.edxml"), "00.99.W00", MOMENT)
    package = parse_package(out)
    assert [t.organ_id for t in package.trace.trace_headers] == ["000.00.00.G22", "00.99.W00"]
    assert package.trace.business is not None  # Bussiness still after the TraceHeaders


def test_twice_gives_two_hops() -> None:
    once = append_trace_header(sample_bytes("status.edxml"), "00.99.W00", MOMENT)
    twice = append_trace_header(once, "00.00.W00", MOMENT)
    package = parse_package(twice)
    assert [t.organ_id for t in package.trace.trace_headers] == ["00.99.W00", "00.00.W00"]


def test_organ_id_is_escaped() -> None:
    out = append_trace_header(sample_bytes("status.edxml"), "A&B", MOMENT)
    assert b"<edXML:OrganId>A&amp;B</edXML:OrganId>" in out


@pytest.mark.parametrize(
    "hiding",
    [
        b"<![CDATA[</edXML:TraceHeader></edXML:TraceHeaderList>]]>",
        b"<!-- </edXML:TraceHeader></edXML:TraceHeaderList> -->",
        b"<?note </edXML:TraceHeaderList>?>",
    ],
)
def test_end_tags_in_cdata_comments_or_pis_do_not_move_the_insertion(hiding: bytes) -> None:
    raw = sample_bytes("edoc_new.edxml").replace(
        b"<edXML:Subject>V/v", b"<edXML:Subject>" + hiding + b"V/v", 1
    )
    before = parse_package(raw)
    out = append_trace_header(raw, "00.99.W00", MOMENT)
    after = parse_package(out)
    assert after.header.subject == before.header.subject
    assert [t.organ_id for t in after.trace.trace_headers] == [
        *(t.organ_id for t in before.trace.trace_headers),
        "00.99.W00",
    ]


# ---------------------------------------------- issue 13 item 1: signed bytes leave untouched


def test_signed_package_leaves_byte_for_byte(edoc_signed):
    from gateway.edxml import relay_bytes

    assert relay_bytes(edoc_signed, "00.99.W00", MOMENT) == edoc_signed


def test_unsigned_and_placeholder_packages_get_the_trace_header(edoc_unsigned):
    from gateway.edxml import relay_bytes

    for raw in (edoc_unsigned, sample_bytes("edoc_new.edxml"), sample_bytes("status.edxml")):
        out = relay_bytes(raw, "00.99.W00", MOMENT)
        assert out != raw
        assert parse_package(out).trace.trace_headers[-1].organ_id == "00.99.W00"


def test_trace_value_is_utc():
    from gateway.edxml import trace_value

    assert trace_value("00.99.W00", MOMENT).startswith("00.99.W00;")
    assert trace_value("00.99.W00", MOMENT).endswith("Z")


def test_inbound_trace_headers_are_verified_as_received(pki, store, edoc_signed):
    """README "Signatures": TraceHeaders present when the sender signed are covered and verify;
    one another axis inserted after signing is a change to signed content."""
    from gateway.trust import verify_package

    assert parse_package(edoc_signed).trace.trace_headers  # the sample carries some
    assert verify_package(edoc_signed, store, at=pki.now).is_signed_valid
    stamped = append_trace_header(edoc_signed, "00.00.W00", MOMENT)
    report = verify_package(stamped, store, at=pki.now)
    assert report.classification == "invalid"
    assert report.reason.code == "SIGNATURE_DIGEST_MISMATCH"
