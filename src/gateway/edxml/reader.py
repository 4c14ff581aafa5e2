"""Hardened reading of package bytes into an lxml tree.

Two things make this more than `etree.fromstring`:

* Safety. No DTD, no entities, no network; a DOCTYPE anywhere in the prolog is refused before
  libxml2 sees it; depth and size are capped; invalid UTF-8 and junk before the prolog are
  reported as findings rather than exceptions.
* Memory. Attachments arrive as base64 text that can be 33 MB for a 25 MB file. Handing that to
  lxml would hold it three times (our bytes, libxml2's text node, a Python str). Instead the
  base64 payloads are cut out of the bytes first and replaced by a short marker (`#<n>` plus the
  same number of newlines, so line numbers stay right); the skeleton that lxml parses is small,
  and each payload is decoded straight from a memoryview of the original bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from .codes import NAMESPACE
from .codes import FindingCode as C
from .errors import EdxmlError, Finding, error, warning
from .limits import Limits

_PAYLOAD = re.compile(
    rb"(<(?:[A-Za-z_][\w.\-]*:)?ContentTransferEncoded\b[^>]*?(?<!/)>)"
    rb"([^<]*)"
    rb"(</(?:[A-Za-z_][\w.\-]*:)?ContentTransferEncoded\s*>)"
)
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_MARKER = re.compile(r"^\s*#(\d+)\s*$")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")

# One parser per thread is cheap; lxml parsers are not thread-safe, so build per call.
_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,  # keeps libxml2's own caps: depth 256, 10 MB text nodes
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)


@dataclass
class ReadXml:
    """A parsed skeleton plus the payloads cut out of it."""

    root: etree._Element
    payloads: list[memoryview]
    findings: list[Finding] = field(default_factory=list)

    def payload_of(self, element: etree._Element) -> memoryview | str:
        """The base64 text of a ContentTransferEncoded element (cut out, or inline)."""
        text = element.text or ""
        marker = _MARKER.match(text)
        if marker and int(marker[1]) < len(self.payloads):
            return self.payloads[int(marker[1])]
        return text


def read_xml(data: bytes, limits: Limits) -> ReadXml:
    """Parse package bytes safely. Raises EdxmlError (with findings) when they are unusable."""
    findings: list[Finding] = []
    if len(data) > limits.max_package_bytes:
        raise EdxmlError(
            [
                error(
                    C.PACKAGE_TOO_LARGE,
                    f"Gói tin {len(data)} byte vượt giới hạn {limits.max_package_bytes} byte.",
                )
            ]
        )
    start = _prolog_start(data, findings)
    _refuse_doctype(data, start)

    skeleton, payloads = _cut_payloads(data, start)
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(skeleton, parser)
    except etree.XMLSyntaxError as exc:
        raise EdxmlError([_syntax_finding(exc)]) from None
    if root.getroottree().docinfo.doctype:
        raise EdxmlError([_doctype_finding()])
    _check_depth(root, limits.max_depth)
    if root.tag != f"{{{NAMESPACE}}}edXML":
        raise EdxmlError(
            [
                error(
                    C.XML_WRONG_NAMESPACE,
                    f"Phần tử gốc phải là edXML trong không gian tên {NAMESPACE}, "
                    f"nhận được {_display_tag(root.tag)}.",
                    "/" + etree.QName(root).localname,
                    root.sourceline,
                )
            ]
        )
    return ReadXml(root, payloads, findings)


def _prolog_start(data: bytes, findings: list[Finding]) -> int:
    """Where the XML starts: after a UTF-8 BOM and (tolerated, with a warning) whitespace."""
    if not data.strip():
        raise EdxmlError([error(C.XML_EMPTY, "Gói tin rỗng.")])
    if data.startswith(_UTF16_32_BOMS):
        raise EdxmlError([error(C.XML_ENCODING, "Gói tin phải mã hóa UTF-8 (gặp BOM UTF-16/32).")])
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    stripped = len(data) - len(data[start:].lstrip())
    if stripped > start:
        findings.append(
            warning(
                C.XML_LEADING_WHITESPACE,
                "Có khoảng trắng trước khai báo XML; đã bỏ qua.",
                line=1,
            )
        )
        start = stripped
    if data[start : start + 1] != b"<":
        snippet = data[start : start + 20].decode("utf-8", "replace")
        raise EdxmlError(
            [
                error(
                    C.XML_JUNK_BEFORE_PROLOG,
                    f"Có dữ liệu lạ trước phần XML: {snippet!r}.",
                    line=1,
                )
            ]
        )
    declared = _DECLARED_ENCODING.match(data[start : start + 200])
    if declared and declared[1].lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        name = declared[1].decode("ascii", "replace")
        raise EdxmlError(
            [error(C.XML_ENCODING, f"Gói tin phải mã hóa UTF-8, khai báo là {name}.", line=1)]
        )
    return start


def has_doctype(data: bytes, start: int = 0) -> bool:
    """Does a DOCTYPE appear in the prolog (after the XML declaration, comments and PIs)?

    Entities can only be declared there, so refusing it before libxml2 sees the bytes means
    nothing can ever be expanded, whatever the parser's options. Shared with gateway.trust.
    """
    end = len(data)
    pos = start + (3 if data.startswith(b"\xef\xbb\xbf", start) else 0)
    while True:
        while pos < end and data[pos] in b" \t\r\n":
            pos += 1
        if data.startswith(b"<?", pos):
            pos = _skip_past(data, pos, b"?>")
        elif data.startswith(b"<!--", pos):
            pos = _skip_past(data, pos, b"-->")
        else:
            return data[pos : pos + 9].upper() == b"<!DOCTYPE"


def _skip_past(data: bytes, pos: int, terminator: bytes) -> int:
    found = data.find(terminator, pos)
    return len(data) if found < 0 else found + len(terminator)


def _refuse_doctype(data: bytes, start: int) -> None:
    if has_doctype(data, start):
        raise EdxmlError([_doctype_finding()])


def _doctype_finding() -> Finding:
    return error(
        C.XML_DOCTYPE_FORBIDDEN,
        "Gói tin không được chứa khai báo DOCTYPE (DTD, thực thể).",
        line=1,
    )


def _cut_payloads(data: bytes, start: int) -> tuple[bytes, list[memoryview]]:
    view = memoryview(data)
    pieces: list[bytes] = []
    payloads: list[memoryview] = []
    cursor = start
    for match in _PAYLOAD.finditer(data, start):
        body_start, body_end = match.span(2)
        pieces.append(data[cursor:body_start])
        pieces.append(b"#%d" % len(payloads) + b"\n" * data.count(b"\n", body_start, body_end))
        payloads.append(view[body_start:body_end])
        cursor = body_end
    pieces.append(data[cursor:])
    return b"".join(pieces), payloads


def _syntax_finding(exc: etree.XMLSyntaxError) -> Finding:
    message = str(exc.msg or exc)
    line = exc.lineno or None
    lowered = message.lower()
    if "excessive depth" in lowered or "maximum depth" in lowered:
        return error(C.XML_TOO_DEEP, "Cấu trúc XML lồng quá sâu.", line=line)
    if "utf-8" in lowered or "encoding" in lowered or "char 0x" in lowered:
        return error(C.XML_ENCODING, f"Gói tin không phải UTF-8 hợp lệ: {message}", line=line)
    if "entity" in lowered or "doctype" in lowered:
        return error(C.XML_DOCTYPE_FORBIDDEN, f"Không chấp nhận thực thể XML: {message}", line=line)
    return error(C.XML_MALFORMED, f"XML không hợp lệ: {message}", line=line)


def _check_depth(root: etree._Element, max_depth: int) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > max_depth:
            raise EdxmlError(
                [
                    error(
                        C.XML_TOO_DEEP,
                        f"Cấu trúc XML lồng quá sâu (hơn {max_depth} mức).",
                        line=element.sourceline,
                    )
                ]
            )
        stack.extend((child, depth + 1) for child in element)


def _display_tag(tag: object) -> str:
    return str(tag) if isinstance(tag, str) else repr(tag)


def element_path(element: etree._Element) -> str:
    """A readable path: local names, with a 1-based index where a name repeats among siblings."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname if isinstance(node.tag, str) else "?"
        parent = node.getparent()
        if parent is not None:
            same = [sib for sib in parent if sib.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))
