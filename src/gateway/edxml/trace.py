"""The gateway's hop record on package bytes as they leave, without re-serialising.

Convention (README "Signatures"): signed content is never modified. A package that carries an
XMLDSig signature leaves byte for byte as it arrived (an enveloped signature over URI=""
covers the TraceHeaderList too, so one byte more would break it); the hop is recorded outside
the bytes (the `X-Gateway-Trace` header of a fetch, the signed push headers, the audit chain).
A package without one gets the gateway's TraceHeader appended, as QCVN 102 axes do: inserted
after the last existing one (or in a new TraceHeaderList after MessageHeader, for status
packages, which have none). Everything else stays byte-for-byte as sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import BytesIO
from xml.sax.saxutils import escape

from lxml import etree

from .codes import NAMESPACE, XMLDSIG_NAMESPACE
from .timefmt import format_timestamp

_SIGNATURE_TAG = f"{{{XMLDSIG_NAMESPACE}}}Signature"
_HEADER_TAG = f"{{{NAMESPACE}}}edXMLHeader"


def relay_bytes(data: bytes, organ_id: str, moment: datetime | None = None) -> bytes:
    """The bytes a recipient, the national axis or another gateway gets from this one."""
    if carries_signature(data):
        return data
    return append_trace_header(data, organ_id, moment)


def trace_value(organ_id: str, moment: datetime) -> str:
    """The out-of-band hop record: `<node code>;<UTC ISO 8601 time>`."""
    return f"{organ_id};{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def carries_signature(data: bytes) -> bool:
    """Whether the package holds an XMLDSig Signature. Streams the document and stops at the
    end of edXMLHeader (where a package signature sits), so the attachments are never read.
    Bytes it cannot read count as signed: leaving them untouched can break nothing."""
    events = etree.iterparse(
        BytesIO(data),
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


def append_trace_header(data: bytes, organ_id: str, moment: datetime | None = None) -> bytes:
    newline = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
    entry = (
        "{p}TraceHeader>{nl}{i}  <{p}OrganId>{organ}</{p}OrganId>{nl}"
        "{i}  <{p}Timestamp>{ts}</{p}Timestamp>{nl}{i}</{p}TraceHeader>"
    )
    list_end = _LIST_END.search(data)
    if list_end:
        last = None
        for match in _HEADER_END.finditer(data, 0, list_end.start()):
            last = match
        anchor = last.end() if last else data.rfind(b">", 0, list_end.start()) + 1
        prefix = _prefix(last or list_end)
        indent = _indent_of(data, last.start() if last else list_end.start())
        if not last:
            indent += b"  "
        text = entry.format(
            p=prefix, nl=newline.decode(), i=indent.decode(), organ=escape(organ_id),
            ts=format_timestamp(moment),
        )
        insertion = newline + indent + b"<" + text.encode()
        return data[:anchor] + insertion + data[anchor:]
    message_end = _MESSAGE_END.search(data)
    if not message_end:
        raise ValueError("no MessageHeader: not an edXML package")
    prefix = _prefix(message_end)
    indent = _indent_of(data, message_end.start())
    inner = indent + b"  "
    text = entry.format(
        p=prefix, nl=newline.decode(), i=inner.decode(), organ=escape(organ_id),
        ts=format_timestamp(moment),
    )
    block = (
        newline + indent + f"<{prefix}TraceHeaderList>".encode()
        + newline + inner + b"<" + text.encode()
        + newline + indent + f"</{prefix}TraceHeaderList>".encode()
    )
    return data[: message_end.end()] + block + data[message_end.end() :]


def _prefix(match: re.Match[bytes]) -> str:
    return match.group(1).decode() + ":" if match.group(1) else ""


def _indent_of(data: bytes, position: int) -> bytes:
    line_start = data.rfind(b"\n", 0, position) + 1
    line = data[line_start:position]
    return line[: len(line) - len(line.lstrip(b" \t"))]
