"""Size and shape limits applied while reading a package. All configurable."""

from __future__ import annotations

from dataclasses import dataclass

from .exclusions import DEFAULT_RULES, ExclusionRule

MIB = 1024 * 1024

# the attachment formats the regulations name (see gateway.edxml.filetypes)
DEFAULT_ALLOWED_FORMATS = frozenset(
    {"txt", "odt", "rtf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "pdf", "zip"}
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_package_bytes: int = 64 * MIB
    max_attachment_bytes: int = 25 * MIB
    max_depth: int = 64
    max_zip_entries: int = 100
    # a zipped attachment may expand to at most this many bytes in total
    max_zip_expanded_bytes: int = 100 * MIB
    # everything decompressed while inspecting one package's attachments, all of them together
    # (forty zips each just under the cap above once cost ~23 s of CPU per 4 MB package)
    max_package_expanded_bytes: int = 256 * MIB
    # To elements in one MessageHeader; checked right after parsing, before any other work
    max_recipients: int = 5000
    # attachment formats accepted (extensions, lower case; "*": any format that is not
    # dangerous); executables and scripts are refused whatever this says
    allowed_formats: frozenset[str] = DEFAULT_ALLOWED_FORMATS
    # documents kept off the network (secret, complaints), see gateway.edxml.exclusions
    exclusions: tuple[ExclusionRule, ...] = DEFAULT_RULES


DEFAULT_LIMITS = Limits()
