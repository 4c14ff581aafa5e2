"""Hardened reading of package bytes into an lxml tree: one real XML parser, nothing else.

* Safety. No DTD, no entities, no network; a DOCTYPE anywhere in the prolog is refused before
  libxml2 sees it; depth is capped while parsing and size before it; invalid UTF-8 and junk
  before the prolog are reported as findings rather than exceptions.
* One view. Whatever a standard XML parser finds in the bytes is what gets validated: no
  regular expression or text surgery runs on the XML before or instead of the parser (a cut
  that matched inside CDATA or comments once let a package show the gateway one structure and
  every recipient another). The bytes are parsed exactly as a recipient will parse them.
* Memory. Attachments arrive as base64 text that can be 33 MB for a 25 MB file. lxml's own
  streaming (`iterparse`, `huge_tree`) reads the document; as each ContentTransferEncoded
  element ends, its text is moved out of the tree into `payloads` (libxml2's copy is freed at
  once), so the tree stays small for the later steps (XSD, paths), and each payload is decoded
  from that one string and then let go.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from lxml import etree

from .codes import NAMESPACE
from .codes import FindingCode as C
from .errors import EdxmlError, Finding, error, warning
from .limits import Limits

_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")

# iterparse builds its own parser per call (lxml parsers are not thread-safe).
_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    # a 25 MB attachment is one ~33 MB text node, over libxml2's 10 MB default; huge_tree also
    # drops libxml2's entity-amplification guard, which is moot: the DOCTYPE is refused first,
    # so no entity can be declared. Depth is capped here while parsing (Limits.max_depth).
    huge_tree=True,
    remove_comments=True,
    remove_pis=True,
    collect_ids=False,
)
_PAYLOAD_NAME = "ContentTransferEncoded"


@dataclass
class ReadXml:
    """The parsed tree plus the base64 texts moved out of its ContentTransferEncoded elements.

    `payloads` is keyed by the element itself (holding it keeps lxml's proxy, hence the key,
    stable); a payload is only ever reached through the element the parser found it in."""

    root: etree._Element
    payloads: dict[etree._Element, str]
    findings: list[Finding] = field(default_factory=list)
    # kept for a later step that needs the tree as the bytes had it (the signature digest):
    # the payloads stay after decoding, and whether the parser may have dropped comments and
    # processing instructions (which canonical XML counts) is noted; see `read_xml(keep=True)`
    keep: bool = False
    dropped_comments: bool = False
    dropped_pis: bool = False

    def take_payload(self, element: etree._Element) -> str:
        """The base64 text of a ContentTransferEncoded element, handed over once (the reader
        lets go of it, so a decoded attachment and its text are not both held for long),
        unless the tree is kept for a later step."""
        payload = self.payloads.get(element) if self.keep else self.payloads.pop(element, None)
        return payload if payload is not None else element.text or ""


def read_xml(data: bytes, limits: Limits, *, keep: bool = False) -> ReadXml:
    """Parse package bytes safely. Raises EdxmlError (with findings) when they are unusable.

    `keep`: the tree will be canonicalised later (gateway.trust digests it), so keep the
    payloads after decoding and say whether the bytes may hold comments or processing
    instructions, which this parser drops. The scan is a conservative hint (a "<?" inside
    CDATA counts too), never a reading of the document."""
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

    root, payloads = _parse(data if start == 0 else data[start:], limits.max_depth)
    if root.getroottree().docinfo.doctype:
        raise EdxmlError([_doctype_finding()])
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
    if not keep:
        return ReadXml(root, payloads, findings)
    declared = data.startswith(b"<?xml", start) and data[start + 5 : start + 6].isspace()
    prolog_end = data.find(b"?>", start) + 2 if declared else start
    return ReadXml(
        root,
        payloads,
        findings,
        keep=True,
        dropped_comments=data.find(b"<!--", start) >= 0,
        dropped_pis=data.find(b"<?", prolog_end) >= 0,
    )


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


def _parse(data: bytes, max_depth: int) -> tuple[etree._Element, dict[etree._Element, str]]:
    """Stream the bytes through lxml: cap depth as elements open, take payloads as they end."""
    payloads: dict[etree._Element, str] = {}
    depth = 0
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), **_PARSER_OPTIONS)
    try:
        for event, element in events:
            if event == "start":
                depth += 1
                if depth > max_depth:
                    raise EdxmlError([_too_deep(max_depth, element.sourceline)])
                continue
            depth -= 1
            # an undeclared prefix leaves "p:name" as the tag (the error comes at the end)
            if isinstance(element.tag, str) and element.tag.rsplit("}", 1)[-1] == _PAYLOAD_NAME:
                payloads[element] = element.text or ""
                element.text = None  # frees libxml2's copy: the tree stays small
    except etree.XMLSyntaxError as exc:
        raise EdxmlError([_syntax_finding(exc)]) from None
    return events.root, payloads


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


def _too_deep(max_depth: int, line: int | None) -> Finding:
    return error(C.XML_TOO_DEEP, f"Cấu trúc XML lồng quá sâu (hơn {max_depth} mức).", line=line)


def _display_tag(tag: object) -> str:
    return str(tag) if isinstance(tag, str) else repr(tag)


def element_path(element: etree._Element) -> str:
    """A readable path: local names, with a 1-based index where a name repeats among siblings.

    One element costs a walk over its ancestors' siblings; for many elements of one tree use
    `ElementPaths`, which computes every path in a single pass."""
    parts: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        index, count = (1, 1) if parent is None else _position(node, parent)
        parts.append(_step(node, index, count))
        node = parent
    return "/" + "/".join(reversed(parts))


class ElementPaths:
    """Every element's `element_path`, computed once for the whole tree in linear time
    (a path per element by scanning its siblings was quadratic: 4,000 `To` cost minutes)."""

    def __init__(self, root: etree._Element):
        self._paths: dict[etree._Element, str] = {}
        self._lines: dict[str, int | None] = {}
        self._record(root, "/" + _step(root, 1, 1))
        stack = [root]
        while stack:
            parent = stack.pop()
            base = self._paths[parent]
            children = [c for c in parent if isinstance(c.tag, str)]
            counts: dict[str, int] = {}
            for child in children:
                counts[child.tag] = counts.get(child.tag, 0) + 1
            seen: dict[str, int] = {}
            for child in children:
                seen[child.tag] = seen.get(child.tag, 0) + 1
                self._record(child, f"{base}/{_step(child, seen[child.tag], counts[child.tag])}")
                stack.append(child)

    def _record(self, element: etree._Element, path: str) -> None:
        self._paths[element] = path
        self._lines.setdefault(path, element.sourceline)

    def of(self, element: etree._Element) -> str:
        path = self._paths.get(element)
        return path if path is not None else element_path(element)

    def line_of(self, path: str) -> int | None:
        """The source line of the element at `path`, if there is one."""
        return self._lines.get(path)


def _position(node: etree._Element, parent: etree._Element) -> tuple[int, int]:
    index = count = 0
    for sibling in parent.iterchildren(node.tag):
        count += 1
        if sibling is node:
            index = count
    return index, count


def _step(node: etree._Element, index: int, count: int) -> str:
    name = etree.QName(node).localname if isinstance(node.tag, str) else "?"
    return f"{name}[{index}]" if count > 1 else name
