"""Attachments: the SDK zips each file; unwrap safely and give streams, never extra copies."""

from __future__ import annotations

import io
import posixpath
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from .codes import FindingCode as C
from .errors import Finding, error, warning
from .limits import DEFAULT_LIMITS, Limits
from .models import Attachment

ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1024 * 1024


@dataclass
class ExpansionBudget:
    """Bytes that may still be decompressed while inspecting one package (all attachments
    together, every pass counted): bounds the CPU one request can cost."""

    limit: int
    spent: int = 0

    @property
    def remaining(self) -> int:
        return max(self.limit - self.spent, 0)

    def spend(self, size: int) -> bool:
        """Count `size` bytes; False once the package is over its budget."""
        self.spent += size
        return self.spent <= self.limit

    @property
    def exhausted(self) -> bool:
        return self.spent > self.limit

    def finding(self, path: str) -> Finding:
        return error(
            C.ZIP_BOMB,
            f"Tổng dung lượng giải nén khi kiểm tra các tệp đính kèm của gói tin vượt giới hạn "
            f"{self.limit} byte.",
            path,
        )


def is_zip(data: bytes) -> bool:
    return data[:4] == ZIP_MAGIC


def is_sdk_wrapped(attachment: Attachment) -> bool:
    """The SDK wraps one file in a zip; a real .zip attachment is delivered as it is."""
    name = (attachment.attachment_name or "").lower()
    return is_zip(attachment.data) and not name.endswith(".zip")


def inspect_zip(
    data: bytes,
    path: str,
    limits: Limits = DEFAULT_LIMITS,
    budget: ExpansionBudget | None = None,
) -> list[Finding]:
    """Check a zipped payload without extracting it: entry count, declared and real sizes, CRC.

    Declared sizes can lie, so every entry is also decompressed as a stream and counted; the
    read stops as soon as the running total passes the cap, or the package's `budget` is spent.
    """
    budget = budget if budget is not None else ExpansionBudget(limits.max_package_expanded_bytes)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        return [error(C.ZIP_INVALID, f"Tệp nén đính kèm bị hỏng: {exc}.", path)]
    findings: list[Finding] = []
    if len(entries) > limits.max_zip_entries:
        return [
            error(
                C.ZIP_BOMB,
                f"Tệp nén có {len(entries)} mục, vượt giới hạn {limits.max_zip_entries}.",
                path,
            )
        ]
    declared = sum(e.file_size for e in entries)
    if declared > limits.max_zip_expanded_bytes:
        return [_bomb(path, limits)]
    if declared > budget.remaining:
        budget.spend(declared)
        return [budget.finding(path)]
    total = 0
    for entry in entries:
        if _unsafe_name(entry.filename):
            findings.append(
                warning(
                    C.ZIP_ENTRY_NAME_UNSAFE,
                    f"Tên mục trong tệp nén không an toàn: {entry.filename!r}.",
                    path,
                )
            )
        try:
            with archive.open(entry) as stream:
                while chunk := stream.read(_CHUNK):
                    total += len(chunk)
                    if total > limits.max_zip_expanded_bytes:
                        return [_bomb(path, limits)]
                    if not budget.spend(len(chunk)):
                        return [budget.finding(path)]
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
            return [error(C.ZIP_INVALID, f"Tệp nén đính kèm bị hỏng: {exc}.", path)]
        except RuntimeError as exc:  # encrypted entries
            return [error(C.ZIP_INVALID, f"Tệp nén đính kèm không đọc được: {exc}.", path)]
    return findings


def _bomb(path: str, limits: Limits) -> Finding:
    return error(
        C.ZIP_BOMB,
        f"Tệp nén giải nén vượt giới hạn {limits.max_zip_expanded_bytes} byte.",
        path,
    )


def _unsafe_name(name: str) -> bool:
    normalised = posixpath.normpath(name.replace("\\", "/"))
    return normalised.startswith(("/", "../")) or normalised == ".." or ":" in name


# bidirectional overrides and isolates: "hoadon\u202Ecod.exe" shows as "hoadonexe.doc"
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_name_reason(name: str) -> str | None:
    """Why an AttachmentName cannot be a file name, or None when it can. Names are refused,
    not normalised: a name is what the recipient saves the file as, and a sender whose name
    carries a path or control characters should hear about it rather than see it changed."""
    if "/" in name or "\\" in name:
        return "có dấu phân cách thư mục (/ hoặc \\)"
    if any(unicodedata.category(c) == "Cc" or c in _BIDI_CONTROLS for c in name):
        return "có ký tự điều khiển"
    if name.strip() in (".", ".."):
        return "không phải tên tệp"
    return None


def open_attachment(attachment: Attachment) -> BinaryIO:
    """A stream of the real file: the single entry of an SDK zip, or the payload as it is.

    The stream reads from the bytes already held by the model; nothing is copied up front.
    Call `inspect_zip` (done by `validate_package`) before trusting a zipped payload.
    """
    if is_sdk_wrapped(attachment):
        archive = zipfile.ZipFile(io.BytesIO(attachment.data))
        files = [e for e in archive.infolist() if not e.is_dir()]
        if len(files) == 1:
            return archive.open(files[0])
    return io.BytesIO(attachment.data)


def real_file_name(attachment: Attachment) -> str:
    """The file name to show and store: AttachmentName, else the zip entry's name."""
    if attachment.attachment_name:
        return attachment.attachment_name
    if is_zip(attachment.data):
        names = zipfile.ZipFile(io.BytesIO(attachment.data)).namelist()
        if len(names) == 1:
            return posixpath.basename(names[0])
    return attachment.content_id
