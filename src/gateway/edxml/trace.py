"""The gateway's hop record on package bytes as they leave, without re-serialising.

Convention (README "Signatures"): signed content is never modified. A package that carries an
XMLDSig signature leaves byte for byte as it arrived (an enveloped signature over URI=""
covers the TraceHeaderList too, so one byte more would break it); the hop is recorded outside
the bytes (the `X-Gateway-Trace` header of a fetch, the signed push headers, the audit chain).
A package without one gets the gateway's TraceHeader appended, as QCVN 102 axes do: inserted
after the last existing one (or in a new TraceHeaderList after MessageHeader, for status
packages, which have none). Everything else stays byte-for-byte as sent.

Finding the insertion point in the bytes is a search for end tags; it is only trusted where
nothing can hide tag-like text (no CDATA section, comment or processing instruction in the
package). Otherwise each candidate is checked with the parser: the result must read as the
original plus the new TraceHeader in its place, or the bytes do not leave.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from lxml import etree

from .codes import NAMESPACE, XMLDSIG_NAMESPACE
from .reader import has_doctype
from .timefmt import format_timestamp

_ED = f"{{{NAMESPACE}}}"
_SIGNATURE_TAG = f"{{{XMLDSIG_NAMESPACE}}}Signature"
_HEADER_TAG = f"{{{NAMESPACE}}}edXMLHeader"


def relay_parts(
    data: bytes | bytearray, organ_id: str, moment: datetime | None = None
) -> tuple[bytes | bytearray | memoryview, ...]:
    """The bytes a recipient, the national axis or another gateway gets from this one, as
    pieces to send one after the other: `data` itself when signed, else the stored bytes up
    to the insertion point, the gateway's TraceHeader, and the rest — slices of `data`, not
    copies, so a 25 MB package is never held twice (issue 14)."""
    if carries_signature(data):
        return (data,)
    anchor, insertion = trace_insertion(data, organ_id, moment)
    view = memoryview(data)
    return (view[:anchor], insertion, view[anchor:])


def relay_bytes(data: bytes | bytearray, organ_id: str, moment: datetime | None = None) -> bytes:
    """`relay_parts` joined, for callers that need one bytes object."""
    return b"".join(relay_parts(data, organ_id, moment))


def trace_value(organ_id: str, moment: datetime) -> str:
    """The out-of-band hop record: `<node code>;<UTC ISO 8601 time>`."""
    return f"{organ_id};{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def carries_signature(data: bytes | bytearray) -> bool:
    """Whether the package holds an XMLDSig Signature. Streams the document and stops at the
    end of edXMLHeader (where a package signature sits), so the attachments are never read.
    Bytes it cannot read count as signed: leaving them untouched can break nothing."""
    events = etree.iterparse(
        _Reader(data),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
    )
    try:
        for event, element in events:
            if event == "start" and element.tag == _SIGNATURE_TAG:
                return True
            if event == "end" and element.tag == _HEADER_TAG:
                return False
    except etree.XMLSyntaxError:
        return True
    return False


_PREFIX = rb"(?:([A-Za-z_][\w.\-]*):)?"
_LIST_END = re.compile(rb"</" + _PREFIX + rb"TraceHeaderList\s*>")
_HEADER_END = re.compile(rb"</" + _PREFIX + rb"TraceHeader\s*>")
_MESSAGE_END = re.compile(rb"</" + _PREFIX + rb"MessageHeader\s*>")


def append_trace_header(
    data: bytes | bytearray, organ_id: str, moment: datetime | None = None
) -> bytes:
    """`data` with the gateway's TraceHeader inserted; raises ValueError when no insertion
    point is one a standard XML parser agrees with."""
    anchor, insertion = trace_insertion(data, organ_id, moment)
    view = memoryview(data)
    return b"".join((view[:anchor], insertion, view[anchor:]))


def trace_insertion(
    data: bytes | bytearray, organ_id: str, moment: datetime | None = None
) -> tuple[int, bytes]:
    """Where the gateway's TraceHeader goes in `data` and its bytes: the package that leaves is
    `data[:position] + insertion + data[position:]`. Raises ValueError when no insertion point
    is one a standard XML parser agrees with."""
    timestamp = format_timestamp(moment)
    candidates = _insertions(data, organ_id, timestamp)
    if not _can_hide_markup(data):
        # text and attribute values cannot hold a literal "<": every tag the expressions
        # find is a real one, and the first insertion point is the right one
        found = next(candidates, None)
        if found is None:
            raise ValueError("no MessageHeader: not an edXML package")
        return found
    # CDATA, a comment or a PI could hold tag-like text: keep the first insertion point that
    # the parser confirms (the new TraceHeader where it belongs, nothing else changed)
    original = _shape(_parse(data))
    for anchor, insertion in candidates:
        if _confirmed(data, anchor, insertion, original, organ_id, timestamp):
            return anchor, insertion
    raise ValueError("no place for the TraceHeader that a standard XML parser agrees with")


def _insertions(
    data: bytes | bytearray, organ_id: str, timestamp: str
) -> Iterator[tuple[int, bytes]]:
    """Insertion candidates (position, bytes), most likely first: after the last TraceHeader of a
    TraceHeaderList, else in a new TraceHeaderList after the MessageHeader."""
    newline = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
    entry = (
        "{p}TraceHeader>{nl}{i}  <{p}OrganId>{organ}</{p}OrganId>{nl}"
        "{i}  <{p}Timestamp>{ts}</{p}Timestamp>{nl}{i}</{p}TraceHeader>"
    )
    for list_end in _LIST_END.finditer(data):
        last = None
        for match in _HEADER_END.finditer(data, 0, list_end.start()):
            last = match
        anchor = last.end() if last else data.rfind(b">", 0, list_end.start()) + 1
        prefix = _prefix(last or list_end)
        indent = _indent_of(data, last.start() if last else list_end.start())
        if not last:
            indent += b"  "
        text = entry.format(
            p=prefix,
            nl=newline.decode(),
            i=indent.decode(),
            organ=escape(organ_id),
            ts=timestamp,
        )
        insertion = newline + indent + b"<" + text.encode()
        yield anchor, insertion
    for message_end in _MESSAGE_END.finditer(data):
        prefix = _prefix(message_end)
        indent = _indent_of(data, message_end.start())
        inner = indent + b"  "
        text = entry.format(
            p=prefix,
            nl=newline.decode(),
            i=inner.decode(),
            organ=escape(organ_id),
            ts=timestamp,
        )
        block = (
            newline
            + indent
            + f"<{prefix}TraceHeaderList>".encode()
            + newline
            + inner
            + b"<"
            + text.encode()
            + newline
            + indent
            + f"</{prefix}TraceHeaderList>".encode()
        )
        yield message_end.end(), block


_DECLARATION = re.compile(rb"[\xef\xbb\xbf \t\r\n]*<\?xml")  # matched in place: no stripped copy


def _can_hide_markup(data: bytes | bytearray) -> bool:
    declaration_end = data.find(b"?>") + 2 if _DECLARATION.match(data) else 0
    return b"<![CDATA[" in data or b"<!--" in data or data.find(b"<?", declaration_end) >= 0


_PARSER_OPTIONS = dict(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=True,
    remove_pis=True,
)  # fmt: skip


def _parse(data: bytes | bytearray) -> etree._Element:
    if has_doctype(data):
        raise ValueError("a DOCTYPE: not an edXML package the gateway accepted")
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    _feed(parser, data, 0, len(data))
    return parser.close()


def _shape(root: etree._Element) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """What a reader of the tree sees, ignoring whitespace between elements."""
    return [
        (e.tag, (e.text or "").strip(), sorted(e.attrib.items()))
        for e in root.iter(tag=etree.Element)
    ]


def _confirmed(
    data: bytes | bytearray,
    anchor: int,
    insertion: bytes,
    original: list,
    organ_id: str,
    timestamp: str,
) -> bool:
    # `data` had no DOCTYPE (`original` parsed) and the insertion adds none: the candidate is
    # fed to the parser in pieces instead of being built as one more copy of the package
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        _feed(parser, data, 0, anchor)
        parser.feed(insertion)
        _feed(parser, data, anchor, len(data))
        root = parser.close()
    except etree.XMLSyntaxError:
        return False
    header = root.find(f"{_ED}edXMLEnvelope/{_ED}edXMLHeader")
    trace_list = header.find(f"{_ED}TraceHeaderList") if header is not None else None
    if trace_list is None:
        return False
    added = trace_list.findall(f"{_ED}TraceHeader")
    if not added:
        return False
    ours = added[-1]
    if (ours.findtext(f"{_ED}OrganId"), ours.findtext(f"{_ED}Timestamp")) != (
        organ_id,
        timestamp,
    ):
        return False
    trace_list.remove(ours)
    if not len(trace_list) and _shape(root) != original:  # the list was ours too
        header.remove(trace_list)
    return _shape(root) == original


_FEED = 1 << 20


class _Reader:
    """A file over the package's buffer for the parser, read in slices: no copy of the whole
    (BytesIO would copy a bytearray — a large package read in slices is one)."""

    def __init__(self, data: bytes | bytearray) -> None:
        self._view = memoryview(data)
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else min(self._at + size, len(self._view))
        piece = bytes(self._view[self._at : end])
        self._at = end
        return piece


def _feed(parser: etree.XMLParser, data: bytes | bytearray, start: int, end: int) -> None:
    """`data[start:end]` to the parser in bounded slices (lxml's feed takes no memoryview)."""
    for at in range(start, end, _FEED):
        parser.feed(data[at : min(at + _FEED, end)])


def _prefix(match: re.Match[bytes]) -> str:
    return match.group(1).decode() + ":" if match.group(1) else ""


def _indent_of(data: bytes | bytearray, position: int) -> bytes:
    line_start = data.rfind(b"\n", 0, position) + 1
    line = data[line_start:position]
    return line[: len(line) - len(line.lstrip(b" \t"))]
