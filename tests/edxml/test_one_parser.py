"""The reader is one real parser (issue 18, item 1): element paths computed in one pass agree
with the per-element ones, and the Signature block the builder writes back is the element the
parser read (prefixes, namespaces, empty elements), not bytes cut out of the text."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.edxml import build_package, parse_package
from gateway.edxml.reader import ElementPaths, element_path
from gateway.trust.xmlsafe import new_parser
from support.samples import ALL_SAMPLES, sample_bytes

DS = "http://www.w3.org/2000/09/xmldsig#"


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_paths_in_one_pass_equal_paths_one_by_one(name: str) -> None:
    root = etree.fromstring(sample_bytes(name), new_parser())
    paths = ElementPaths(root)
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    assert [paths.of(e) for e in elements] == [element_path(e) for e in elements]
    assert len({paths.of(e) for e in elements}) == len(elements)


def _signature(data: bytes) -> etree._Element:
    root = etree.fromstring(data, new_parser())
    header = root.find("{*}edXMLEnvelope/{*}edXMLHeader")
    return next(c for c in header if etree.QName(c).localname == "Signature")


def test_an_xmldsig_block_is_written_back_as_the_parser_read_it() -> None:
    raw = sample_bytes("edoc_new.edxml")
    start, end = raw.index(b"<Signature>"), raw.index(b"</Signature>") + len(b"</Signature>")
    signature = (
        f'<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo><ds:Reference URI="" />'
        "</ds:SignedInfo><ds:SignatureValue>QUJD\nREVG</ds:SignatureValue>"
        '<ds:KeyInfo><x:Extra xmlns:x="urn:x" x:a="1">t &amp; &lt;u&gt;</x:Extra></ds:KeyInfo>'
        "</ds:Signature>"
    ).encode()
    data = raw[:start] + signature + raw[end:]
    package = parse_package(data)
    assert package.signature is not None and package.signature.is_xmldsig
    rebuilt = build_package(package)

    def canonical(d: bytes) -> bytes:
        return etree.tostring(_signature(d), method="c14n", exclusive=True)

    assert canonical(rebuilt) == canonical(data)
