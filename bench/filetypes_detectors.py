"""How well maintained file-type detectors name attachments, against the gateway's own rules.

Issue 17 asks whether libmagic (python-magic) or puremagic can replace `edxml/filetypes.py`.
This runs the three over the test corpus (tests/edxml/test_filetypes.py builds tiny real files
of every kind the regulations care about) and the attachments of the official samples, and
prints, per case, the kind the gateway expects and what each detector says, then how many each
gets right. Not part of the test suite; needs `pip install python-magic puremagic` and the
system's libmagic.

    python bench/filetypes_detectors.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "edxml")]

import magic  # noqa: E402
import puremagic  # noqa: E402
import test_filetypes as corpus  # noqa: E402

from gateway.edxml import parse_package  # noqa: E402
from gateway.edxml.attachments import open_attachment, real_file_name  # noqa: E402
from gateway.edxml.filetypes import detect  # noqa: E402
from support.samples import DOCUMENT_SAMPLES, sample_bytes  # noqa: E402

# the MIME types (or puremagic extensions) a detector may answer for each of our kinds
MIMES = {
    "pdf": {"application/pdf"},
    "rtf": {"text/rtf", "application/rtf"},
    "doc": {"application/msword"},
    "xls": {"application/vnd.ms-excel"},
    "ppt": {"application/vnd.ms-powerpoint"},
    "ole2": {"application/x-ole-storage", "application/CDFV2"},
    "docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    "pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    "docm": {"application/vnd.ms-word.document.macroEnabled.12"},
    "odt": {"application/vnd.oasis.opendocument.text"},
    "ods": {"application/vnd.oasis.opendocument.spreadsheet"},
    "zip": {"application/zip"},
    "txt": {"text/plain", "text/xml", "application/xml"},
    "jpg": {"image/jpeg"},
    "exe": {"application/vnd.microsoft.portable-executable", "application/x-dosexec"},
    "elf": {"application/x-executable", "application/x-sharedlib", "application/x-pie-executable"},
    "macho": {"application/x-mach-binary"},
    "java": {"application/x-java-applet", "application/java"},
    "script": {"text/x-shellscript"},
    "msi": {"application/x-msi"},
}


def cases() -> list[tuple[str, str, bytes]]:
    t = corpus
    msi = t.ole2("\u4840\u3f3f", root_clsid=bytes.fromhex("84100c0000000000c000000000000046"))
    found = [
        ("pdf", "pdf", t.PDF), ("rtf", "rtf", t.RTF),
        ("doc", "doc", t.ole2("WordDocument", "1Table")), ("xls", "xls", t.ole2("Workbook")),
        ("ppt", "ppt", t.ole2("PowerPoint Document", "Current User")),
        ("other compound file", "ole2", t.ole2("Something")),
        ("docx", "docx", t.ooxml("word/document.xml")),
        ("xlsx", "xlsx", t.ooxml("xl/workbook.xml")),
        ("pptx", "pptx", t.ooxml("ppt/presentation.xml")),
        ("docx with macros", "docm", t.ooxml("word/document.xml", macros=True)),
        ("odt", "odt", t.odf("application/vnd.oasis.opendocument.text")),
        ("ods", "ods", t.odf("application/vnd.oasis.opendocument.spreadsheet")),
        ("plain zip", "zip", t.zipped({"a.txt": b"x"})),
        ("UTF-8 Vietnamese", "txt", "Quyết định số 1/QĐ-UBND\r\n".encode()),
        ("TCVN3 Vietnamese", "txt", b"Quy\xd5t \xae\xfenh"),
        ("UTF-16 with BOM", "txt", "\ufeffUTF-16 văn bản".encode("utf-16")),
        ("text starting MZ", "txt", b"MZ Tran Van A, bao cao.\n"),
        ("jpeg", "jpg", t.JPEG), ("PE executable", "exe", t.PE), ("ELF header", "elf", t.ELF),
        ("Mach-O", "macho", b"\xcf\xfa\xed\xfe" + b"\x00" * 40),
        ("Java class", "java", b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 40),
        ("shell script", "script", t.SCRIPT), ("MSI installer", "msi", msi),
        ("real ELF (this Python)", "elf", Path(sys.executable).resolve().read_bytes()[:65536]),
    ]  # fmt: skip
    for name in DOCUMENT_SAMPLES:  # the real file inside each SDK zip, as the gateway reads it
        for attachment in parse_package(sample_bytes(name)).attachments:
            data = open_attachment(attachment).read()
            # named .doc, but Word 2003 XML: text, which the gateway then judges against ".doc"
            found.append((f"{name}: {real_file_name(attachment)}", "txt", data))
    return found


def puremagic_mime(data: bytes) -> str:
    try:
        return puremagic.from_string(data, mime=True) or "(none)"
    except puremagic.PureError:
        return "(none)"


def main() -> None:
    right = {"gateway": 0, "libmagic": 0, "puremagic": 0}
    rows = cases()
    print(f"{'case':26} {'expected':8} {'gateway':8} {'libmagic':46} puremagic")
    for label, kind, data in rows:
        ours, lib, pure = detect(data), magic.from_buffer(data, mime=True), puremagic_mime(data)
        right["gateway"] += ours == kind
        right["libmagic"] += lib in MIMES.get(kind, set())
        right["puremagic"] += pure in MIMES.get(kind, set())
        print(f"{label[:26]:26} {kind:8} {ours:8} {lib[:46]:46} {pure[:40]}")
    print(", ".join(f"{k}: {v}/{len(rows)} right" for k, v in right.items()))


if __name__ == "__main__":
    main()
