"""Hostile and broken input: each one a clear finding, never a crash, a hang or an expansion."""

from __future__ import annotations

import io
import zipfile

import pytest

from gateway.edxml import Limits, build_package, parse_package, validate_package
from gateway.edxml.limits import MIB
from support.samples import sample_bytes

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
STATUS = sample_bytes("status.edxml")
PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\r\n'


def codes(data: bytes, limits: Limits | None = None) -> set[str]:
    report = validate_package(data, limits=limits or Limits())
    assert not report.ok
    assert all(f.message for f in report.errors)
    return {f.code for f in report.errors}


def with_doctype(doctype: bytes) -> bytes:
    return PROLOG + doctype + STATUS[len(PROLOG) :]


def test_billion_laughs_is_refused_unexpanded() -> None:
    lol = (
        b'<!DOCTYPE edXML [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "' % i + (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10 + b'">'
            for i in range(1, 10)
        )
        + b"]>\r\n"
    )
    data = with_doctype(lol).replace(b"Nguy\xe1\xbb\x85n", b"&lol9;")
    assert codes(data) == {"XML_DOCTYPE_FORBIDDEN"}


def test_external_entity_is_refused() -> None:
    xxe = b'<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\r\n'
    data = with_doctype(xxe).replace(b"Nguy\xe1\xbb\x85n", b"&xxe;")
    assert codes(data) == {"XML_DOCTYPE_FORBIDDEN"}


def test_quadratic_blowup_is_refused() -> None:
    big = b'<!DOCTYPE edXML [<!ENTITY a "' + b"x" * 50_000 + b'">]>\r\n'
    data = with_doctype(big).replace(b"Nguy\xe1\xbb\x85n", b"&a;" * 2000)
    assert codes(data) == {"XML_DOCTYPE_FORBIDDEN"}


def test_any_doctype_is_refused_even_after_a_comment() -> None:
    data = with_doctype(b"<!-- hi --><!DOCTYPE edXML>\r\n")
    assert codes(data) == {"XML_DOCTYPE_FORBIDDEN"}


def test_doctype_after_a_comment_that_looks_like_markup_is_refused() -> None:
    data = with_doctype(b"<!-- <a href='x'> -->\r\n<?pi x?><!DOCTYPE edXML []>\r\n")
    assert codes(data) == {"XML_DOCTYPE_FORBIDDEN"}


def test_undeclared_entity_reference_is_malformed_not_resolved() -> None:
    data = STATUS.replace(b"Nguy\xe1\xbb\x85n", b"&undefined;")
    assert codes(data) <= {"XML_MALFORMED", "XML_DOCTYPE_FORBIDDEN"}


def test_ten_thousand_deep_nesting() -> None:
    deep = b"<a>" * 10_000 + b"</a>" * 10_000
    data = STATUS.replace(b"<edXML:Description>", b"<edXML:Description>" + deep, 1)
    assert codes(data) == {"XML_TOO_DEEP"}


def test_nesting_beyond_our_own_cap() -> None:
    deep = b"<a>" * 80 + b"</a>" * 80
    data = STATUS.replace(b"<edXML:Description>", b"<edXML:Description>" + deep, 1)
    assert codes(data) == {"XML_TOO_DEEP"}


def test_invalid_utf8() -> None:
    data = STATUS.replace("Nghệ An".encode(), b"Ngh\xff\xfe An", 1)
    assert codes(data) == {"XML_ENCODING"}


def test_declared_non_utf8_encoding() -> None:
    data = STATUS.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    assert codes(data) == {"XML_ENCODING"}


def test_utf16_bom() -> None:
    assert codes(b"\xff\xfe" + STATUS.decode().encode("utf-16-le")) == {"XML_ENCODING"}


def test_truncated_file() -> None:
    assert codes(STATUS[: len(STATUS) // 2]) == {"XML_MALFORMED"}


def test_truncated_document_with_attachment() -> None:
    raw = sample_bytes("edoc_new.edxml")
    assert codes(raw[: len(raw) - 5000]) == {"XML_MALFORMED"}


def test_junk_before_prolog() -> None:
    assert codes(b"HTTP/1.1 200 OK\r\n\r\n" + STATUS) == {"XML_JUNK_BEFORE_PROLOG"}


def test_leading_whitespace_is_only_a_warning() -> None:
    report = validate_package(b"\r\n  " + STATUS)
    assert report.ok
    assert {f.code for f in report.warnings} == {"XML_LEADING_WHITESPACE"}


def test_empty_input() -> None:
    assert codes(b"") == {"XML_EMPTY"}
    assert codes(b"   \n") == {"XML_EMPTY"}


def test_wrong_namespace() -> None:
    data = STATUS.replace(NS.encode(), b"http://example.com/not-qcvn")
    assert codes(data) == {"XML_WRONG_NAMESPACE"}


def test_not_edxml_at_all() -> None:
    assert codes(PROLOG + b"<html><body>hi</body></html>") == {"XML_WRONG_NAMESPACE"}


def test_package_size_limit_is_checked_first() -> None:
    assert codes(STATUS, Limits(max_package_bytes=1000)) == {"PACKAGE_TOO_LARGE"}


def _package_with_attachment(data: bytes, name: str = "file.pdf") -> bytes:
    package = parse_package(sample_bytes("edoc_new.edxml"))
    package.attachments[0].data = data
    package.attachments[0].attachment_name = name
    return build_package(package)


def test_thirty_megabyte_attachment_is_refused_by_size() -> None:
    data = _package_with_attachment(b"\0" * (30 * MIB))
    assert codes(data) == {"ATTACHMENT_TOO_LARGE"}


def test_base64_garbage() -> None:
    raw = sample_bytes("edoc_new.edxml")
    data = raw.replace(b"UEsDBBQACAgI", b"UEsD!!$$ACAgI", 1)
    assert codes(data) == {"BASE64_INVALID"}


def test_base64_with_data_after_padding() -> None:
    raw = sample_bytes("edoc_new.edxml")
    start = raw.index(b"UEsDBBQACAgI")
    data = raw[:start] + b"QUJD==QUJD" + raw[raw.index(b"</edXML:ContentTransferEncoded>") :]
    assert codes(data) == {"BASE64_INVALID"}


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def test_zip_bomb_by_expanded_size() -> None:
    bomb = _zip({"a.doc": b"\0" * (8 * MIB)})
    assert len(bomb) < 64 * 1024
    limits = Limits(max_zip_expanded_bytes=4 * MIB)
    assert codes(_package_with_attachment(bomb, "a.doc"), limits) == {"ZIP_BOMB"}


def test_zip_bomb_by_entry_count() -> None:
    bomb = _zip({f"{i}.txt": b"x" for i in range(150)})
    assert codes(_package_with_attachment(bomb, "a.doc")) == {"ZIP_BOMB"}


def test_zip_bomb_with_lying_sizes_is_caught_while_streaming() -> None:
    bomb = bytearray(_zip({"a.doc": b"\0" * (8 * MIB)}))
    # rewrite the declared uncompressed size (local header and central directory) to 10 bytes
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = bytes(bomb).index(signature)
        bomb[at + offset : at + offset + 4] = (10).to_bytes(4, "little")
    limits = Limits(max_zip_expanded_bytes=4 * MIB)
    assert codes(_package_with_attachment(bytes(bomb), "a.doc"), limits) <= {
        "ZIP_BOMB",
        "ZIP_INVALID",
    }


def test_corrupt_zip() -> None:
    broken = _zip({"a.doc": b"hello" * 1000})[:-30]
    assert codes(_package_with_attachment(broken, "a.doc")) == {"ZIP_INVALID"}


def test_mismatched_content_ids() -> None:
    raw = sample_bytes("edoc_new.edxml")
    data = raw.replace(b"<ContentId>cid:209</ContentId>", b"<ContentId>cid:999</ContentId>")
    assert codes(data) == {"ATTACHMENT_UNBOUND"}


@pytest.mark.parametrize(
    "payload",
    [
        b"<edXML/>",
        PROLOG + b'<edXML xmlns="' + NS.encode() + b'"/>',
        PROLOG + b"<![CDATA[x]]>",
        b"\x00" * 100,
        b"<?xml version='1.0'?><edXML xmlns='" + NS.encode() + b"'><x>" + b"&#0;" + b"</x></edXML>",
    ],
)
def test_assorted_broken_inputs_give_findings(payload: bytes) -> None:
    assert codes(payload)
