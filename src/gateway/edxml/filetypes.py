"""What an attachment really is: its type detected from content, not from its name.

`detect(data)` looks at magic bytes and, for containers, inside them:

- PDF (`%PDF-` near the start), RTF (`{\\rtf`);
- OLE2 compound files (D0 CF 11 E0 A1 B1 1A E1): the directory is read to tell Word
  (`WordDocument` stream), Excel (`Workbook`/`Book`) and PowerPoint (`PowerPoint Document`)
  apart; an installer (MSI) is dangerous; any other compound file is the `ole2` family, which
  passes for the three old Office extensions only;
- zip: OOXML (`[Content_Types].xml` and `word/`, `xl/`, `ppt/` parts; with macros
  (`vbaProject.bin`) it is docm/xlsm/pptm), ODF (first entry `mimetype` =
  `application/vnd.oasis.opendocument.*`), otherwise a plain zip;
- common images and archives (so errors can name them);
- plain text: valid UTF-8 (or UTF-16 with a BOM), or 8-bit legacy Vietnamese text (TCVN3,
  VNI, Windows-1258) without NULs or control characters. XML and HTML are text;
- dangerous: Windows executables (MZ/PE), ELF, Mach-O, Java classes, `#!` scripts, MSI.

`judge(name, kind, allowed)` compares the detected type with the file name's extension and the
allowed formats (`Limits.allowed_formats`). Files whose *name* is an executable or a script
(`.exe`, `.bat`, `.sh`, `.js`, …) are always refused whatever their content, and so is dangerous
content whatever its name. Pure: no I/O; zip containers are read from memory with the same caps
as `attachments.inspect_zip` (the caller inspects a zip before it is read here).
"""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import struct
import zipfile
from dataclasses import dataclass
from enum import StrEnum

from .limits import DEFAULT_ALLOWED_FORMATS

# every format `detect` can name (besides the dangerous ones and "unknown")
KNOWN_FORMATS = frozenset(
    {
        "txt", "rtf", "pdf", "doc", "xls", "ppt", "docx", "xlsx", "pptx",
        "docm", "xlsm", "pptm", "odt", "ods", "odp", "odg", "zip",
        "jpg", "png", "gif", "tif", "bmp", "7z", "rar", "gz",
    }
)  # fmt: skip

LABELS = {
    "txt": "văn bản thuần (text)",
    "rtf": "RTF",
    "pdf": "PDF",
    "doc": "Word 97-2003",
    "xls": "Excel 97-2003",
    "ppt": "PowerPoint 97-2003",
    "ole2": "tệp OLE2 (Office 97-2003)",
    "docx": "Word (OOXML)",
    "xlsx": "Excel (OOXML)",
    "pptx": "PowerPoint (OOXML)",
    "docm": "Word có macro",
    "xlsm": "Excel có macro",
    "pptm": "PowerPoint có macro",
    "odt": "OpenDocument văn bản",
    "ods": "OpenDocument bảng tính",
    "odp": "OpenDocument trình chiếu",
    "odg": "OpenDocument đồ họa",
    "odf": "OpenDocument",
    "zip": "tệp nén ZIP",
    "jpg": "ảnh JPEG",
    "png": "ảnh PNG",
    "gif": "ảnh GIF",
    "tif": "ảnh TIFF",
    "bmp": "ảnh BMP",
    "7z": "tệp nén 7-Zip",
    "rar": "tệp nén RAR",
    "gz": "tệp nén gzip",
    "exe": "tệp thực thi Windows (MZ/PE)",
    "elf": "tệp thực thi ELF",
    "macho": "tệp thực thi Mach-O",
    "java": "lớp Java (class)",
    "script": "kịch bản thực thi (#!)",
    "msi": "bộ cài đặt Windows (MSI)",
    "unknown": "không nhận ra định dạng",
}

DANGEROUS_KINDS = frozenset({"exe", "elf", "macho", "java", "script", "msi"})

# refused by name whatever the content: executables, installers, scripts, shortcuts
DANGEROUS_EXTENSIONS = frozenset(
    {
        "exe", "dll", "com", "scr", "pif", "cpl", "sys", "drv", "ocx", "msi", "msp", "mst",
        "bat", "cmd", "ps1", "psm1", "psd1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "wsc",
        "hta", "lnk", "reg", "inf", "sh", "bash", "zsh", "csh", "ksh", "command", "run",
        "jar", "class", "apk", "app", "dmg", "pkg", "deb", "rpm", "elf", "so", "dylib", "bin",
        "py", "pyc", "pl", "rb", "php", "gadget", "msc", "application", "appx", "msix",
    }
)  # fmt: skip

# which detected kinds an extension may carry; an extension absent here expects its own name
_EXPECTED = {
    "txt": {"txt"},
    "text": {"txt"},
    "csv": {"txt"},
    "xml": {"txt"},
    "json": {"txt"},
    "htm": {"txt"},
    "html": {"txt"},
    "doc": {"doc", "ole2"},
    "dot": {"doc", "ole2"},
    "xls": {"xls", "ole2"},
    "xlt": {"xls", "ole2"},
    "ppt": {"ppt", "ole2"},
    "pps": {"ppt", "ole2"},
    "jpg": {"jpg"},
    "jpeg": {"jpg"},
    "jpe": {"jpg"},
    "tif": {"tif"},
    "tiff": {"tif"},
    "gz": {"gz"},
    "tgz": {"gz"},
}
# the extensions (in the configured list) a detected kind counts as
_KIND_ALIASES = {"jpg": {"jpg", "jpeg"}, "tif": {"tif", "tiff"}, "gz": {"gz", "tgz"}}
OLE2_FAMILY = frozenset({"doc", "xls", "ppt"})

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_TEXT_SCAN = 1024 * 1024  # text is judged on its first MiB
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_MSI_CLSID = bytes.fromhex("8410 0c00 0000 0000 c000 0000 0000 0046".replace(" ", ""))


def parse_formats(text: str) -> frozenset[str]:
    """`"pdf, .DOCX ,txt"` → {"pdf", "docx", "txt"}; `"*"` allows every safe format."""
    return frozenset(
        part.strip().lower().lstrip(".") for part in text.split(",") if part.strip(" .")
    )


def extension(name: str | None) -> str:
    """The lower-case extension of a file name ("" when there is none)."""
    base = posixpath.basename((name or "").replace("\\", "/")).strip().rstrip(". ")
    stem, dot, ext = base.rpartition(".")
    return ext.lower() if dot and stem else ""


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


# ------------------------------------------------------------------------------ detection
def detect(data: bytes, *, max_zip_entries: int = 100) -> str:
    """The kind of file `data` holds: a key of LABELS (`txt`, `pdf`, `docx`, `exe`, …)."""
    head = data[:16]
    if head.startswith(b"MZ") and _is_windows_executable(data):
        return "exe"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe"):  # fmt: skip
        return "macho"
    if head.startswith(b"\xca\xfe\xba\xbe"):
        # Java class (major version ≥ 45) and Mach-O universal binary share the magic
        (value,) = struct.unpack(">I", data[4:8].ljust(4, b"\0"))
        return "java" if value >= 45 else "macho"
    if head.startswith(b"#!"):
        return "script"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(OLE2_MAGIC):
        return _ole2_kind(data)
    if head.startswith(_ZIP_MAGICS):
        return _zip_kind(data, max_zip_entries)
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tif"
    if head.startswith(b"BM") and len(data) > 26 and _bmp_size_matches(data):
        return "bmp"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    if is_text(data):
        return "txt"
    return "unknown"


def _is_windows_executable(data: bytes) -> bool:
    """MZ header: a PE file when e_lfanew points at `PE\\0\\0`; a bare DOS stub or any MZ
    file that is not text is refused too (a text file that merely starts with "MZ" is not)."""
    if len(data) >= 0x40:
        (offset,) = struct.unpack_from("<I", data, 0x3C)
        if data[offset : offset + 4] == b"PE\x00\x00":
            return True
    return not is_text(data)


def _bmp_size_matches(data: bytes) -> bool:
    (size,) = struct.unpack_from("<I", data, 2)
    return size == len(data)


def is_text(data: bytes) -> bool:
    """UTF-8 (BOM optional) or UTF-16 with a BOM, or 8-bit legacy text, with no NUL or
    control characters other than tab, line breaks, form feed and escape; judged on the
    first MiB. An empty file counts as text."""
    sample = data[:_TEXT_SCAN]
    complete = len(data) <= _TEXT_SCAN
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = codecs.getincrementaldecoder("utf-16")().decode(sample, final=complete)
        except UnicodeDecodeError:
            return False
        return not any(ch in text for ch in "\x00\x01\x02\x03\x04\x05\x06\x07\x08")
    if complete:
        sample = sample.rstrip(b"\x1a")  # DOS end-of-file mark
    # UTF-8 or a legacy 8-bit Vietnamese encoding, where every byte ≥ 0x80 is a letter:
    # either way, text has no NULs or control characters
    return _CONTROL.search(sample) is None


# --- OLE2 compound files ------------------------------------------------------------------
_ENDOFCHAIN = 0xFFFFFFFA  # and above: special sector numbers
_MAX_SECTORS = 100_000


def _ole2_kind(data: bytes) -> str:
    try:
        names, root_clsid = _ole2_directory(data)
    except (struct.error, ValueError, IndexError):
        return "ole2"
    if root_clsid == _MSI_CLSID:
        return "msi"
    if "WordDocument" in names:
        return "doc"
    if "Workbook" in names or "Book" in names:
        return "xls"
    if "PowerPoint Document" in names:
        return "ppt"
    return "ole2"


def _ole2_directory(data: bytes) -> tuple[set[str], bytes]:
    """Names of the entries of a compound file's directory, and the root entry's CLSID."""
    if len(data) < 512:
        raise ValueError("short compound file")
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        raise ValueError("bad sector size")
    size = 1 << shift
    fat_count, first_dir = struct.unpack_from("<II", data, 0x2C)
    difat_first, difat_count = struct.unpack_from("<II", data, 0x44)
    fat_sectors = [s for s in struct.unpack_from("<109I", data, 0x4C) if s < _ENDOFCHAIN]
    next_difat, hops = difat_first, 0
    while next_difat < _ENDOFCHAIN and hops < min(difat_count, _MAX_SECTORS):
        block = _sector(data, next_difat, size)
        values = struct.unpack(f"<{size // 4}I", block)
        fat_sectors += [s for s in values[:-1] if s < _ENDOFCHAIN]
        next_difat, hops = values[-1], hops + 1
    fat_sectors = fat_sectors[:fat_count]
    fat: list[int] = []
    for sector in fat_sectors:
        fat += struct.unpack(f"<{size // 4}I", _sector(data, sector, size))
    names: set[str] = set()
    root_clsid = b""
    sector, seen = first_dir, set()
    while sector < _ENDOFCHAIN and sector not in seen and len(seen) < _MAX_SECTORS:
        seen.add(sector)
        block = _sector(data, sector, size)
        for at in range(0, size, 128):
            entry = block[at : at + 128]
            length = struct.unpack_from("<H", entry, 0x40)[0]
            kind = entry[0x42]
            if kind == 0 or not 2 <= length <= 64:
                continue
            name = entry[: length - 2].decode("utf-16-le", "replace")
            names.add(name)
            if kind == 5:
                root_clsid = entry[0x50:0x60]
        sector = fat[sector] if sector < len(fat) else _ENDOFCHAIN
    if not names:
        raise ValueError("empty directory")
    return names, root_clsid


def _sector(data: bytes, number: int, size: int) -> bytes:
    start = (number + 1) * size
    block = data[start : start + size]
    if len(block) != size:
        raise ValueError("sector outside the file")
    return block


# --- zip containers -----------------------------------------------------------------------
_ODF = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.graphics": "odg",
}
_OOXML = (("word/", "docx", "docm"), ("xl/", "xlsx", "xlsm"), ("ppt/", "pptx", "pptm"))


def _zip_kind(data: bytes, max_entries: int) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        return "zip"  # a broken zip: inspect_zip reports it
    if not entries or len(entries) > max_entries:
        return "zip"
    first = entries[0]
    if first.filename == "mimetype" and first.file_size <= 200:
        try:
            with archive.open(first) as stream:
                mime = stream.read(200).decode("ascii", "replace").strip()
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
            mime = ""
        if mime.startswith("application/vnd.oasis.opendocument."):
            return _ODF.get(mime, "odf")
    names = {e.filename for e in entries}
    if "[Content_Types].xml" in names:
        macros = any(n.endswith("vbaProject.bin") for n in names)
        for prefix, plain, with_macros in _OOXML:
            if any(n.startswith(prefix) for n in names):
                return with_macros if macros else plain
    return "zip"


# ------------------------------------------------------------------------------ judgement
class Verdict(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"  # allowed content under another allowed extension: a warning
    NOT_ALLOWED = "not_allowed"  # an error


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    kind: str  # what the content is
    ext: str  # the name's extension ("" when none)
    reason: str  # for people (Vietnamese), empty when OK


def kind_allowed(kind: str, allowed: frozenset[str]) -> bool:
    if kind in DANGEROUS_KINDS or kind == "unknown":
        return False
    if "*" in allowed:
        return True
    if kind == "ole2":
        return bool(OLE2_FAMILY & allowed)
    return bool(_KIND_ALIASES.get(kind, {kind}) & allowed)


def judge(name: str | None, kind: str, allowed: frozenset[str]) -> Judgement:
    """Compare the detected `kind` with the extension of `name` and the allowed formats."""
    ext = extension(name)
    allowed_text = ", ".join(sorted(allowed))
    if ext in DANGEROUS_EXTENSIONS:
        return Judgement(
            Verdict.NOT_ALLOWED, kind, ext, f"phần mở rộng .{ext} là tệp thực thi/kịch bản"
        )
    if kind in DANGEROUS_KINDS:
        return Judgement(Verdict.NOT_ALLOWED, kind, ext, f"nội dung là {label(kind)}")
    if kind == "unknown":
        return Judgement(
            Verdict.NOT_ALLOWED,
            kind,
            ext,
            f"nội dung không thuộc định dạng nào được nhận ra; cho phép: {allowed_text}",
        )
    if not kind_allowed(kind, allowed):
        return Judgement(
            Verdict.NOT_ALLOWED, kind, ext, f"nội dung là {label(kind)}; cho phép: {allowed_text}"
        )
    if ext and "*" not in allowed and ext not in allowed:
        return Judgement(
            Verdict.NOT_ALLOWED,
            kind,
            ext,
            f"phần mở rộng .{ext} không được phép; cho phép: {allowed_text}",
        )
    if ext and kind not in _EXPECTED.get(ext, {ext}):
        if kind == "ole2" and ext not in OLE2_FAMILY:
            return Judgement(
                Verdict.NOT_ALLOWED, kind, ext, f"nội dung là {label(kind)}, không phải .{ext}"
            )
        return Judgement(
            Verdict.MISMATCH, kind, ext, f"tên có đuôi .{ext} nhưng nội dung là {label(kind)}"
        )
    return Judgement(Verdict.OK, kind, ext, "")


__all__ = [
    "DANGEROUS_EXTENSIONS",
    "DANGEROUS_KINDS",
    "DEFAULT_ALLOWED_FORMATS",
    "KNOWN_FORMATS",
    "Judgement",
    "Verdict",
    "detect",
    "extension",
    "is_text",
    "judge",
    "kind_allowed",
    "label",
    "parse_formats",
]
