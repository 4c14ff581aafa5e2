"""Append the gateway's TraceHeader to package bytes as they leave, without re-serialising.

The stored bytes never change; what recipients receive is the original with one TraceHeader
more, inserted after the last existing one (or in a new TraceHeaderList after MessageHeader,
for status packages, which have none). Everything else stays byte-for-byte as sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from xml.sax.saxutils import escape

from .timefmt import format_timestamp

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
