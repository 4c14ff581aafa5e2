"""How well maintained file-type detectors name attachments, against the gateway's own rules.

Issue 17 asks whether libmagic (python-magic) or puremagic can replace `edxml/filetypes.py`.
This runs the three over the test corpus (tests/edxml/test_filetypes.py builds tiny real files
of every kind the regulations care about) and the attachments of the official samples, and
prints, per case, the kind the gateway expects and what each detector says, then how many each
gets right. The `olefile` column is the gateway's own detection with its hand-written OLE2
directory reader replaced by olefile (the thin rules kept on top: the MSI class id, the
stream names of Word, Excel and PowerPoint). Not part of the test suite; needs
`pip install python-magic puremagic olefile` and the system's libmagic.

    python bench/filetypes_detectors.py
"""

from __future__ import annotations

import io
import random
import struct
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "edxml")]

import magic  # noqa: E402
import olefile  # noqa: E402
import puremagic  # noqa: E402
import test_filetypes as corpus  # noqa: E402

from gateway.edxml import filetypes, parse_package  # noqa: E402
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


def linked(compound: bytes) -> bytes:
    """The test corpus's compound file (tests/edxml/test_filetypes.py `ole2`) with its directory
    linked as real files have it: the root's child is the first stream, each stream's right
    sibling the next. The corpus leaves every link empty, so a reader that walks the tree from
    the root (as Office and olefile do) sees no stream there."""
    data = bytearray(compound)
    directory = 2 * 512  # sector 1
    count = sum(1 for at in range(directory, len(data), 128) if data[at + 0x42] in (1, 2, 5))
    struct.pack_into("<I", data, directory + 0x4C, 1 if count > 1 else 0xFFFFFFFF)  # root child
    for n in range(1, count):
        right = n + 1 if n + 1 < count else 0xFFFFFFFF
        struct.pack_into("<I", data, directory + 128 * n + 0x48, right)
    return bytes(data)


def cases() -> list[tuple[str, str, bytes]]:
    t = corpus
    msi_clsid = bytes.fromhex("84100c0000000000c000000000000046")
    msi = t.ole2("\u4840\u3f3f", root_clsid=msi_clsid)
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
        ("doc, linked directory", "doc", linked(t.ole2("WordDocument", "1Table"))),
        ("xls, linked directory", "xls", linked(t.ole2("Workbook"))),
        ("ppt, linked directory", "ppt", linked(t.ole2("PowerPoint Document", "Current User"))),
        ("other, linked directory", "ole2", linked(t.ole2("Something"))),
        ("MSI, linked directory", "msi", linked(t.ole2("\u4840\u3f3f", root_clsid=msi_clsid))),
        ("OLE2 header only", "ole2", filetypes.OLE2_MAGIC + b"\x00" * 40),
    ]  # fmt: skip
    for name in DOCUMENT_SAMPLES:  # the real file inside each SDK zip, as the gateway reads it
        for attachment in parse_package(sample_bytes(name)).attachments:
            data = open_attachment(attachment).read()
            # named .doc, but Word 2003 XML: text, which the gateway then judges against ".doc"
            found.append((f"{name}: {real_file_name(attachment)}", "txt", data))
    return found


def olefile_kind(data: bytes) -> str:
    """`detect`, with olefile reading the compound files' directory."""
    if not data.startswith(filetypes.OLE2_MAGIC):
        return detect(data)
    try:  # a BytesIO: olefile would take short bytes for a file name
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            names = {path[-1] for path in ole.listdir(streams=True, storages=True)}
            root_clsid = uuid.UUID(ole.root.clsid).bytes_le if ole.root.clsid else b""
    except (OSError, ValueError, struct.error, IndexError):  # NotOleFileError is an OSError
        return "ole2"
    if root_clsid == filetypes._MSI_CLSID:
        return "msi"
    if "WordDocument" in names:
        return "doc"
    if "Workbook" in names or "Book" in names:
        return "xls"
    if "PowerPoint Document" in names:
        return "ppt"
    return "ole2"


def puremagic_mime(data: bytes) -> str:
    try:
        return puremagic.from_string(data, mime=True) or "(none)"
    except puremagic.PureError:
        return "(none)"


def main() -> None:
    right = {"gateway": 0, "olefile": 0, "libmagic": 0, "puremagic": 0}
    rows = cases()
    print(f"{'case':26} {'expected':8} {'gateway':8} {'olefile':8} {'libmagic':46} puremagic")
    for label, kind, data in rows:
        ours, ole = detect(data), olefile_kind(data)
        lib, pure = magic.from_buffer(data, mime=True), puremagic_mime(data)
        right["gateway"] += ours == kind
        right["olefile"] += ole == kind
        right["libmagic"] += lib in MIMES.get(kind, set())
        right["puremagic"] += pure in MIMES.get(kind, set())
        print(f"{label[:26]:26} {kind:8} {ours:8} {ole:8} {lib[:46]:46} {pure[:40]}")
    print(", ".join(f"{k}: {v}/{len(rows)} right" for k, v in right.items()))
    damaged()


def damaged(count: int = 2000) -> None:
    """Both OLE2 readers on damaged compound files (4 random bytes changed, some truncated):
    which exceptions escape each (the gateway's reader must never raise)."""
    base, rnd = corpus.ole2("WordDocument", "1Table"), random.Random(7)
    escaped: dict[str, int] = {}
    for _ in range(count):
        data = bytearray(base)
        for _ in range(4):
            data[rnd.randrange(len(data))] = rnd.randrange(256)
        data = data[: rnd.choice([len(data), 1536, 1000, 600])]
        for name, read in (("gateway", detect), ("olefile", olefile_reads)):
            try:
                read(bytes(data))
            except Exception as exc:
                key = f"{name} {type(exc).__name__}"
                escaped[key] = escaped.get(key, 0) + 1
    print(f"{count} damaged compound files, exceptions escaping: {escaped or 'none'}")


def olefile_reads(data: bytes) -> None:
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            ole.listdir(streams=True, storages=True)
    except OSError:  # NotOleFileError and other documented refusals
        pass


if __name__ == "__main__":
    main()
