"""edXML (QCVN 102:2016) packages: read, validate and write. Pure: no I/O, no web framework.

    report = validate_package(raw_bytes)      # every layer; never raises on bad input
    if report.ok: package = report.package    # DocumentPackage | StatusPackage
    package = parse_package(raw_bytes)        # well-formedness + structure, raises EdxmlError
    raw = build_package(package)              # exactly the SDK's layout
"""

from .attachments import open_attachment, real_file_name
from .build import build_package
from .codes import NAMESPACE, BusinessDocType, FindingCode, Priority, StatusCode
from .errors import EdxmlError, Finding, Severity
from .limits import DEFAULT_LIMITS, Limits
from .models import (
    Attachment,
    DocumentPackage,
    Organization,
    Package,
    Reference,
    StatusPackage,
    TraceHeader,
)
from .parse import parse_package
from .timefmt import format_timestamp, parse_date, parse_timestamp
from .trace import append_trace_header, relay_bytes, trace_value
from .validate import ValidationReport, validate_package

__all__ = [
    "DEFAULT_LIMITS",
    "NAMESPACE",
    "Attachment",
    "BusinessDocType",
    "DocumentPackage",
    "EdxmlError",
    "Finding",
    "FindingCode",
    "Limits",
    "Organization",
    "Package",
    "Priority",
    "Reference",
    "Severity",
    "StatusCode",
    "StatusPackage",
    "TraceHeader",
    "ValidationReport",
    "append_trace_header",
    "build_package",
    "format_timestamp",
    "open_attachment",
    "parse_date",
    "parse_package",
    "parse_timestamp",
    "real_file_name",
    "relay_bytes",
    "trace_value",
    "validate_package",
]
