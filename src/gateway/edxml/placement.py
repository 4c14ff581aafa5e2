"""Structural elements are read only where the format puts them; anywhere else they refuse the
package.

The XSD leaves some regions open (the SDK's placeholder `<Signature>`, `xs:anyType` extension
elements, xmldsig content). A recipient that looks for `MessageHeader`, `Attachment` or
`ContentTransferEncoded` by name finds them there too, so an executable or a second header
placed in such a region would reach it unchecked. No region is opaque: any element with one
of these local names (in any namespace) outside its one place is an error.
"""

from __future__ import annotations

from lxml import etree

from .codes import FindingCode as C
from .errors import Finding, error

_ENVELOPE = ("edXML", "edXMLEnvelope")
_HEADER = (*_ENVELOPE, "edXMLHeader")
_ATTACHMENT = ("edXML", "AttachmentEncoded", "Attachment")

PLACES: dict[str, tuple[str, ...]] = {
    "edXML": ("edXML",),
    "edXMLEnvelope": _ENVELOPE,
    "edXMLHeader": _HEADER,
    "edXMLBody": (*_ENVELOPE, "edXMLBody"),
    "edXMLManifest": (*_ENVELOPE, "edXMLBody", "edXMLManifest"),
    "MessageHeader": (*_HEADER, "MessageHeader"),
    "TraceHeaderList": (*_HEADER, "TraceHeaderList"),
    "AttachmentEncoded": ("edXML", "AttachmentEncoded"),
    "Attachment": _ATTACHMENT,
    "ContentTransferEncoded": (*_ATTACHMENT, "ContentTransferEncoded"),
}


def misplaced(root: etree._Element) -> list[Finding]:
    """One finding per structural element found outside its place (one pass over the tree)."""
    findings = []
    for element in root.iter(tag=etree.Element):
        name = etree.QName(element).localname
        expected = PLACES.get(name)
        if expected is None:
            continue
        actual = _local_names(element)
        if actual != expected:
            findings.append(
                error(
                    C.ELEMENT_MISPLACED,
                    f"Phần tử {name} chỉ được nằm tại /{'/'.join(expected)}; "
                    "không chấp nhận ở vị trí khác.",
                    "/" + "/".join(actual),
                    element.sourceline,
                )
            )
    return findings


def _local_names(element: etree._Element) -> tuple[str, ...]:
    names = [etree.QName(node).localname for node in (element, *element.iterancestors())]
    return tuple(reversed(names))
