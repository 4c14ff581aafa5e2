"""Validation in layers: well-formedness → structure (XSD) → business rules.

A layer runs only when the one before it found no error, so rules never see a broken tree;
`findings` holds everything the layers that ran have said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lxml import etree

from . import rules
from .errors import EdxmlError, Finding
from .limits import DEFAULT_LIMITS, Limits
from .models import Package
from .parse import parse_with_findings
from .reader import ElementPaths, ReadXml
from .timefmt import today_in_vietnam


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    # the parsed package, when the XML and its structure were readable
    package: Package | None = None
    # the tree `package` was read from, only when asked for (`keep_tree`) and the package is
    # valid: the signature step digests this very tree. Short-lived: drop it after that step.
    read: ReadXml | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_package(
    data: bytes,
    *,
    limits: Limits = DEFAULT_LIMITS,
    today: date | None = None,
    keep_tree: bool = False,
) -> ValidationReport:
    """Run every layer; never raises for bad input."""
    try:
        package, findings, read = parse_with_findings(data, limits, keep=keep_tree)
    except EdxmlError as exc:
        return ValidationReport(findings=list(exc.findings))
    rule_findings = rules.check(package, today=today or today_in_vietnam(), limits=limits)
    if rule_findings:
        rule_findings = _with_lines(rule_findings, read.root)
    report = ValidationReport(findings=findings + rule_findings, package=package)
    if keep_tree and report.ok:
        report.read = read
    return report


def _with_lines(findings: list[Finding], root: etree._Element) -> list[Finding]:
    """Rules speak in element paths; add the source line where the path names an element.
    Every path is computed in one pass over the tree (linear, however many elements)."""
    paths = ElementPaths(root)
    result = []
    for finding in findings:
        line = finding.line
        if line is None and finding.path:
            line = paths.line_of(finding.path) or paths.line_of(finding.path.rsplit("/", 1)[0])
        result.append(
            Finding(finding.code, finding.severity, finding.message, finding.path, line)
        )
    return result
