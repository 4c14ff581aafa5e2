"""Allowed attachment formats: the real type comes from the content (tiny real files made here)."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from gateway.edxml import Limits, build_package, parse_package, validate_package
from gateway.edxml.filetypes import Verdict, detect, extension, is_text, judge, parse_formats
from gateway.edxml.limits import DEFAULT_ALLOWED_FORMATS
from gateway.edxml.models import Attachment, DocumentPackage, Reference
from support.samples import DOCUMENT_SAMPLES, sample_bytes

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
RTF = b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Xin ch\\u224?o}"
PE = b"MZ" + b"\x90" * 58 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x4c\x01" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
SCRIPT = b"#!/bin/sh\nrm -rf ~\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64


def zipped(entries: dict[str, bytes], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, (name, content) in enumerate(entries.items()):
            kind = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=kind)
    return buffer.getvalue()


def ooxml(part: str, *, macros: bool = False) -> bytes:
    entries = {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>",
               part: b"<x/>"}  # fmt: skip
    if macros:
        entries[part.split("/")[0] + "/vbaProject.bin"] = b"\x00" * 16
    return zipped(entries)


def odf(mime: str) -> bytes:
    return zipped(
        {"mimetype": mime.encode(), "content.xml": b"<office:document-content/>"},
        stored_first=True,
    )


def ole2(*streams: str, root_clsid: bytes = b"\x00" * 16) -> bytes:
    """A minimal valid compound file: sector 0 = FAT, sector 1 = directory."""
    end, free, fatsect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 0x28, 0, 1, 1, 0, 4096, end, 0, end, 0)
    struct.pack_into("<109I", header, 0x4C, 0, *([free] * 108))
    fat = struct.pack("<128I", fatsect, end, *([free] * 126))

    def entry(name: str, kind: int, clsid: bytes = b"\x00" * 16) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        block = bytearray(128)
        block[: len(raw)] = raw
        struct.pack_into("<HBB", block, 0x40, len(raw), kind, 1)
        struct.pack_into("<III", block, 0x44, free, free, free)
        block[0x50:0x60] = clsid
        struct.pack_into("<I", block, 0x74, end)
        return bytes(block)

    directory = entry("Root Entry", 5, root_clsid) + b"".join(entry(s, 2) for s in streams)
    directory = directory.ljust(512, b"\x00")
    return bytes(header) + fat + directory


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, "pdf"),
        (RTF, "rtf"),
        (ole2("WordDocument", "1Table"), "doc"),
        (ole2("Workbook"), "xls"),
        (ole2("PowerPoint Document", "Current User"), "ppt"),
        (ole2("Something"), "ole2"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "ole2"),  # header only
        (ooxml("word/document.xml"), "docx"),
        (ooxml("xl/workbook.xml"), "xlsx"),
        (ooxml("ppt/presentation.xml"), "pptx"),
        (ooxml("word/document.xml", macros=True), "docm"),
        (odf("application/vnd.oasis.opendocument.text"), "odt"),
        (odf("application/vnd.oasis.opendocument.spreadsheet"), "ods"),
        (zipped({"a.txt": b"x"}), "zip"),
        ("Quyết định số 1/QĐ-UBND\r\n".encode(), "txt"),
        ('<?xml version="1.0"?><a>é</a>'.encode(), "txt"),
        (b"Quy\xd5t \xae\xfenh", "txt"),  # TCVN3 (ABC) legacy Vietnamese
        ("\ufeffUTF-16 văn bản".encode("utf-16"), "txt"),
        (b"", "txt"),
        (JPEG, "jpg"),
        (PE, "exe"),
        (ELF, "elf"),
        (b"\xcf\xfa\xed\xfe" + b"\x00" * 40, "macho"),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 40, "java"),
        (SCRIPT, "script"),
        (b"\x00\x01\x02\x03binary\x00\xff", "unknown"),
    ],
)
def test_detect(data: bytes, kind: str) -> None:
    assert detect(data) == kind


def test_msi_is_an_ole2_file_but_dangerous() -> None:
    clsid = bytes.fromhex("84100c0000000000c000000000000046")  # {000C1084-…-46}
    assert detect(ole2("\u4840\u3f3f", root_clsid=clsid)) == "msi"


def test_text_that_merely_starts_with_mz_is_text() -> None:
    assert detect(b"MZ Tran Van A, bao cao.\n") == "txt"
    assert is_text(b"line\tone\r\n\x0c")
    assert not is_text(b"nul\x00inside")


def test_extension_and_format_list() -> None:
    assert extension("Báo cáo.Final.PDF") == "pdf"
    assert extension("noext") == extension(".hidden") == ""
    assert extension("dir/a.tar.gz") == "gz"
    assert parse_formats(" PDF, .docx ,, txt") == {"pdf", "docx", "txt"}
    assert (
        parse_formats("txt,odt,rtf,doc,docx,xls,xlsx,ppt,pptx,pdf,zip") == DEFAULT_ALLOWED_FORMATS
    )


@pytest.mark.parametrize(
    ("name", "kind", "verdict"),
    [
        ("a.pdf", "pdf", Verdict.OK),
        ("a.doc", "ole2", Verdict.OK),
        ("a.doc", "txt", Verdict.MISMATCH),  # the SDK samples: XML text named .doc
        ("a.docx", "pdf", Verdict.MISMATCH),
        ("noext", "pdf", Verdict.OK),
        ("a.pdf", "ole2", Verdict.NOT_ALLOWED),
        ("a.pdf", "exe", Verdict.NOT_ALLOWED),
        ("a.jpg", "jpg", Verdict.NOT_ALLOWED),
        ("a.ods", "ods", Verdict.NOT_ALLOWED),  # only odt is in the default list
        ("a.docx", "docm", Verdict.NOT_ALLOWED),
        ("a.pdf", "unknown", Verdict.NOT_ALLOWED),
        ("run.bat", "txt", Verdict.NOT_ALLOWED),
        ("install.sh", "txt", Verdict.NOT_ALLOWED),
        ("a.xml", "txt", Verdict.NOT_ALLOWED),
    ],
)
def test_judge_default_list(name: str, kind: str, verdict: Verdict) -> None:
    assert judge(name, kind, DEFAULT_ALLOWED_FORMATS).verdict is verdict


def test_judge_configured_lists() -> None:
    assert judge("a.jpg", "jpg", parse_formats("pdf,jpg")).verdict is Verdict.OK
    assert judge("a.jpeg", "jpg", parse_formats("pdf,jpeg")).verdict is Verdict.OK
    assert judge("a.docx", "docx", parse_formats("pdf")).verdict is Verdict.NOT_ALLOWED
    anything = parse_formats("*")
    assert judge("photo.heic", "unknown", anything).verdict is Verdict.NOT_ALLOWED
    assert judge("a.jpg", "jpg", anything).verdict is Verdict.OK
    assert judge("a.exe", "txt", anything).verdict is Verdict.NOT_ALLOWED
    assert judge("a.pdf", "exe", anything).verdict is Verdict.NOT_ALLOWED


# ------------------------------------------------------------------ through validate_package
def package_with(*files: tuple[str, bytes]) -> bytes:
    """The edoc_new sample with its attachments replaced by `files` (name, payload)."""
    package = parse_package(sample_bytes("edoc_new.edxml"))
    assert isinstance(package, DocumentPackage)
    package.references = [
        Reference(content_id=f"cid:{i}", content_type="application/octet-stream",
                  attachment_name=name)
        for i, (name, _) in enumerate(files)
    ]  # fmt: skip
    package.attachments = [
        Attachment(content_id=f"cid:{i}", attachment_name=name, data=data)
        for i, (name, data) in enumerate(files)
    ]
    return build_package(package)


def sdk(name: str, content: bytes) -> bytes:
    """How the SDK sends a file: zipped, one entry named <uuid>.<extension>."""
    return zipped({f"5c7082fe-0000-4000-8000-000000000000.{name.rsplit('.', 1)[-1]}": content})


def findings(data: bytes, limits: Limits | None = None) -> list[tuple[str, str, str]]:
    report = validate_package(data, limits=limits or Limits())
    return [(f.code, f.severity.value, f.message) for f in report.findings]


@pytest.mark.parametrize("name", DOCUMENT_SAMPLES)
def test_shipped_samples_are_accepted_with_a_mismatch_warning(name: str) -> None:
    report = validate_package(sample_bytes(name))
    assert report.ok
    [warning] = [f for f in report.warnings if f.code == "ATTACHMENT_TYPE_MISMATCH"]
    assert "1896_QD-TTg_m_294779.doc" in warning.message


def test_allowed_files_plain_and_sdk_wrapped() -> None:
    data = package_with(
        ("Quyết định.pdf", PDF),
        ("Tờ trình.docx", sdk("x.docx", ooxml("word/document.xml"))),
        ("Bảng.xlsx", ooxml("xl/workbook.xml")),
        ("Trình chiếu.pptx", sdk("x.pptx", ooxml("ppt/presentation.xml"))),
        ("Văn bản.odt", odf("application/vnd.oasis.opendocument.text")),
        ("cu.doc", sdk("cu.doc", ole2("WordDocument"))),
        ("cu.xls", ole2("Workbook")),
        ("cu.ppt", ole2("PowerPoint Document")),
        ("ghi chu.txt", "Ghi chú".encode()),
        ("thu.rtf", RTF),
        ("hoso.zip", zipped({"a.pdf": PDF, "b.txt": b"ok"})),
    )
    assert findings(data) == []


def test_renamed_script_is_refused_naming_the_file() -> None:
    [(code, severity, message)] = findings(package_with(("bao-cao.pdf", SCRIPT)))
    assert (code, severity) == ("ATTACHMENT_FORMAT_NOT_ALLOWED", "error")
    assert message.startswith("Tệp đính kèm 'bao-cao.pdf' có định dạng không được phép (")


def test_pe_and_elf_are_refused() -> None:
    result = findings(package_with(("a.pdf", PE), ("b.docx", ELF)))
    assert [c for c, _, _ in result] == ["ATTACHMENT_FORMAT_NOT_ALLOWED"] * 2
    assert "MZ/PE" in result[0][2] and "ELF" in result[1][2]


def test_exe_renamed_doc_inside_the_sdk_zip_is_refused() -> None:
    [(code, _, message)] = findings(package_with(("Công văn.doc", sdk("x.doc", PE))))
    assert code == "ATTACHMENT_FORMAT_NOT_ALLOWED"
    assert "'Công văn.doc'" in message and "MZ/PE" in message


def test_script_extension_inside_the_sdk_zip_is_refused() -> None:
    wrapped = zipped({"5c7082fe.bat": b"del *.*\r\n"})
    [(code, _, _)] = findings(package_with(("a.doc", wrapped)))
    assert code == "ATTACHMENT_FORMAT_NOT_ALLOWED"


def test_exe_inside_a_real_zip_is_refused() -> None:
    data = package_with(("hoso.zip", zipped({"a.pdf": PDF, "setup.exe": PE})))
    [(code, _, message)] = findings(data)
    assert code == "ATTACHMENT_FORMAT_NOT_ALLOWED"
    assert "'setup.exe'" in message and "'hoso.zip'" in message


def test_exe_in_a_nested_zip_is_refused() -> None:
    inner = zipped({"readme.txt": b"hi", "tool.pdf": PE})
    data = package_with(("hoso.zip", zipped({"inner.zip": inner})))
    [(code, _, message)] = findings(data)
    assert code == "ATTACHMENT_FORMAT_NOT_ALLOWED" and "'tool.pdf'" in message


def test_nested_zip_bomb_is_caught() -> None:
    inner = zipped({"a.txt": b"a" * (3 * 1024 * 1024)})
    data = package_with(("hoso.zip", zipped({"inner.zip": inner, "b.zip": inner})))
    limits = Limits(max_zip_expanded_bytes=4 * 1024 * 1024)
    assert "ZIP_BOMB" in {c for c, _, _ in findings(data, limits)}


def test_mismatch_between_allowed_types_is_a_warning() -> None:
    [(code, severity, message)] = findings(package_with(("to-trinh.docx", PDF)))
    assert (code, severity) == ("ATTACHMENT_TYPE_MISMATCH", "warning")
    assert "'to-trinh.docx'" in message and "PDF" in message


def test_the_list_is_configuration() -> None:
    data = package_with(("anh.jpg", JPEG))
    [(code, _, message)] = findings(data)
    assert code == "ATTACHMENT_FORMAT_NOT_ALLOWED" and "ảnh JPEG" in message
    assert findings(data, Limits(allowed_formats=parse_formats("pdf,jpg"))) == []
    only_pdf = Limits(allowed_formats=parse_formats("pdf"))
    [(code, _, _)] = findings(package_with(("a.docx", ooxml("word/document.xml"))), only_pdf)
    assert code == "ATTACHMENT_FORMAT_NOT_ALLOWED"


# ------------------------------------------------------------------ through the intake API
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_intake_applies_the_configured_list(make_gateway) -> None:
    gw = await make_gateway(allowed_attachment_formats="pdf, docx")
    keys = await gw.setup("000.00.00.A80", "28.22.H17")
    sender = keys["000.00.00.A80"]
    r = await gw.post_package(package_with(("setup.pdf", PE)), sender)
    assert r.status_code == 422, r.text
    [finding] = r.json()["error"]["findings"]
    assert finding["code"] == "ATTACHMENT_FORMAT_NOT_ALLOWED"
    assert "'setup.pdf'" in finding["message"]
    # the sample's XML-text ".doc" is refused: neither text nor .doc is in this list
    r = await gw.post_package(sample_bytes("edoc_new.edxml"), sender)
    assert r.status_code == 422
    r = await gw.post_package(package_with(("qd.pdf", PDF)), sender)
    assert r.status_code == 202, r.text
