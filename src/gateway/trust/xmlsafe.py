"""Hardened XML parsing for signature work: no DTD, no entities, no network.

The parser must accept huge text nodes (a 20 MB attachment is one ~27 MB base64 text node, above
libxml2's 10 MB default), and `huge_tree` also switches off libxml2's entity-amplification guard.
So a DOCTYPE is refused by scanning the prolog *before* libxml2 sees the document: entities can
only be declared there, and without declarations nothing can be expanded.
"""

from __future__ import annotations

from lxml import etree

from gateway.edxml.reader import has_doctype


class UnsafeXmlError(ValueError):
    """The document uses an XML feature we refuse (DOCTYPE, entities, non-UTF-8 family)."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code


_NON_ASCII_COMPATIBLE_STARTS = (
    b"\x00\x00\xfe\xff",  # UTF-32 BE BOM
    b"\xff\xfe\x00\x00",  # UTF-32 LE BOM
    b"\xfe\xff",  # UTF-16 BE BOM
    b"\xff\xfe",  # UTF-16 LE BOM
)


def new_parser() -> etree.XMLParser:
    """A fresh parser per call: lxml parsers must not be shared between threads."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
        remove_comments=False,
    )


def refuse_doctype(raw: bytes) -> None:
    """Raise if the document is not ASCII-compatible or declares a DOCTYPE in its prolog.

    Only ASCII-compatible encodings are scanned reliably, so UTF-16/32 input is refused here;
    edXML is UTF-8 by convention. The prolog rule itself is gateway.edxml's (`has_doctype`).
    """
    if raw.startswith(_NON_ASCII_COMPATIBLE_STARTS) or b"\x00" in raw[:4]:
        raise UnsafeXmlError("XML_ENCODING", "only UTF-8 (ASCII-compatible) XML is accepted")
    if has_doctype(raw):
        raise UnsafeXmlError("XML_DOCTYPE_FORBIDDEN", "DOCTYPE declarations are not accepted")


def parse_hardened(raw: bytes) -> etree._Element:
    """Parse `raw` into a root element, refusing DTDs and entity references."""
    refuse_doctype(raw)
    try:
        root = etree.fromstring(raw, parser=new_parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError("XML_MALFORMED", f"not well-formed XML: {exc}") from exc
    if root is None:
        raise UnsafeXmlError("XML_MALFORMED", "empty document")
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError("XML_DOCTYPE_FORBIDDEN", "DOCTYPE declarations are not accepted")
    for _entity in root.iter(etree.Entity):
        raise UnsafeXmlError("XML_DOCTYPE_FORBIDDEN", "entity references are not accepted")
    return root
