"""Building packages in the SDK's layout, and round trips both ways."""

from __future__ import annotations

from collections import Counter

import pytest
from lxml import etree

from gateway.edxml import build_package, parse_package
from gateway.edxml.reader import element_path
from support.samples import ALL_SAMPLES, SDK_EXACT_SAMPLES, sample_bytes


@pytest.mark.parametrize("name", SDK_EXACT_SAMPLES)
def test_build_reproduces_sdk_output_byte_for_byte(name: str) -> None:
    raw = sample_bytes(name)
    assert build_package(parse_package(raw)) == raw


def test_build_of_edoc_new_differs_only_by_a_blank_line() -> None:
    raw = sample_bytes("edoc_new.edxml")
    rebuilt = build_package(parse_package(raw))

    def significant(data: bytes) -> list[bytes]:
        return [line for line in data.splitlines() if line.strip()]

    assert significant(rebuilt) == significant(raw)


def _elements(data: bytes) -> Counter[tuple[str, str]]:
    """Every element as (path, text), ignoring order among siblings."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    root = etree.fromstring(data, parser)
    return Counter(
        (element_path(el), (el.text or "").strip())
        for el in root.iter()
        if isinstance(el.tag, str)
    )


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_build_of_parse_keeps_every_element(name: str) -> None:
    raw = sample_bytes(name)
    rebuilt = build_package(parse_package(raw))
    original, again = _elements(raw), _elements(rebuilt)
    assert again == original


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_parse_of_build_is_identity_on_samples(name: str) -> None:
    package = parse_package(sample_bytes(name))
    assert parse_package(build_package(package)) == package


def test_sdk_layout_prefixes_and_placement() -> None:
    built = build_package(parse_package(sample_bytes("edoc_new.edxml"))).decode()
    assert built.startswith('<?xml version="1.0" encoding="UTF-8"?>\r\n<edXML xmlns=')
    assert '<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">' in built
    assert "\r\n  <AttachmentEncoded>\r\n    <Attachment>\r\n      <ContentId>" in built
    # AttachmentEncoded comes after the envelope closes: outside it
    assert built.index("</edXML:edXMLEnvelope>") < built.index("<AttachmentEncoded>")
    assert '<edXML:ContentTransferEncoded xmlns:edXML="' in built
    assert "\n" not in built.replace("\r\n", "")  # CRLF everywhere, like the SDK


def test_empty_and_absent_optional_elements_are_distinguished() -> None:
    package = parse_package(sample_bytes("edoc_update.edxml"))
    package.header.due_date = ""
    package.header.content = None
    built = build_package(package)
    assert b"<edXML:DueDate />" in built
    assert b"<edXML:Content>" not in built
    again = parse_package(built)
    assert again.header.due_date == ""
    assert again.header.content is None
