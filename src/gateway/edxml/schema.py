"""Structure checks against the XSDs in `schemas/` (gateway.shipped), compiled once per process."""

from __future__ import annotations

import re
import threading
from functools import cache

from lxml import etree

from ..shipped import shipped
from .codes import FindingCode as C
from .errors import Finding, error
from .reader import ElementPaths

_SCHEMA_FILES = {"document": "document.xsd", "status": "status.xsd"}
_NAMESPACE_IN_MESSAGE = re.compile(r"\{[^}]*\}")
# libxml2 validation contexts are per call, but compiling is not thread-safe
_compile_lock = threading.Lock()


@cache
def compiled(kind: str) -> etree.XMLSchema:
    with _compile_lock:
        path = shipped("schemas") / _SCHEMA_FILES[kind]
        return etree.XMLSchema(etree.parse(str(path)))


def validate(root: etree._Element, kind: str) -> list[Finding]:
    schema = compiled(kind)
    if schema.validate(root):
        return []
    tree = root.getroottree()
    paths = ElementPaths(root)  # one pass, however many errors the log holds
    findings = []
    for entry in schema.error_log:
        path = entry.path or None
        if path:
            try:
                nodes = tree.xpath(path)
                if nodes and isinstance(nodes[0], etree._Element):
                    path = paths.of(nodes[0])
            except etree.XPathError:
                pass
        message = _NAMESPACE_IN_MESSAGE.sub("", entry.message)
        findings.append(
            error(C.SCHEMA_INVALID, f"Sai cấu trúc gói tin: {message}", path, entry.line or None)
        )
    return findings
