"""Findings: what validation says about a package, with a stable code and where it applies."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a package.

    `code` is stable and machine-readable (see `codes.FindingCode`); `message` is for people
    (Vietnamese); `path` is the element path such as
    `/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[2]/OrganId`; `line` is the line in the
    submitted XML when known.
    """

    code: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["severity"] = self.severity.value
        return data

    def __str__(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where = f"{where} (dòng {self.line})" if where else f"dòng {self.line}"
        prefix = f"{self.severity.value.upper()} {self.code}"
        return f"{prefix} {where}: {self.message}" if where else f"{prefix}: {self.message}"


def error(code: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(code, Severity.ERROR, message, path, line)


def warning(code: str, message: str, path: str | None = None, line: int | None = None) -> Finding:
    return Finding(code, Severity.WARNING, message, path, line)


class EdxmlError(ValueError):
    """The only exception the edXML library raises for bad input; it carries the findings."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__("; ".join(str(f) for f in findings) or "invalid edXML package")
