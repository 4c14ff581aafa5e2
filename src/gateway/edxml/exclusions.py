"""Documents that must stay off the network: state secrets (mật, tối mật, tuyệt mật) and
complaint/denunciation letters (Bình Định; Khánh Hòa Art. 1.1b; Hà Giang Art. 7.3).

QCVN 102:2016 has no field of its own for the secrecy grade, so senders mark it where they
can: SphereOfPromulgation, a label in front of the Subject ("TỐI MẬT: …", "(Mật) …") or the
document type (the XSD refuses extension elements, so there is nowhere else). A rule names one
field and
the values that mark a document; a value matches only as a *label* — the whole field, or its
start followed by punctuation or closed by a bracket — never as a word inside a sentence, so
"Về việc bảo vệ bí mật nhà nước" or "Mật ong xuất khẩu" are not refused.

The table is data: DEFAULT_RULES below, extended by the operator's JSON file
(`GATEWAY_EXCLUSION_RULES_FILE`, a list of rules; a rule with the id of a default replaces it):

    [{"id": "noi-bo", "field": "OtherInfo/SphereOfPromulgation",
      "values": ["lưu hành nội bộ"], "reason": "Văn bản chỉ lưu hành nội bộ"}]

Fields (FIELDS): `Subject`, `Content`, `DocumentType/TypeName`,
`OtherInfo/SphereOfPromulgation`. `match` is `label` (default) or `equals` (the whole field).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from .codes import FindingCode
from .errors import Finding, error
from .models import DocumentPackage

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
FIELDS = ("Subject", "Content", "DocumentType/TypeName", "OtherInfo/SphereOfPromulgation")

SECRET_GRADES = ("mật", "tối mật", "tuyệt mật")


@dataclass(frozen=True)
class ExclusionRule:
    id: str
    field: str
    values: tuple[str, ...]
    reason: str
    match: Literal["label", "equals"] = "label"


DEFAULT_RULES: tuple[ExclusionRule, ...] = (
    ExclusionRule(
        "secret-sphere",
        "OtherInfo/SphereOfPromulgation",
        SECRET_GRADES,
        "Văn bản mật không được gửi qua trục liên thông",
    ),
    ExclusionRule(
        "secret-subject",
        "Subject",
        SECRET_GRADES,
        "Văn bản mật không được gửi qua trục liên thông",
    ),
    ExclusionRule(
        "complaint-denunciation",
        "DocumentType/TypeName",
        ("đơn khiếu nại", "đơn tố cáo", "khiếu nại", "tố cáo", "đơn khiếu nại, tố cáo"),
        "Đơn khiếu nại, tố cáo không được gửi qua trục liên thông",
        "equals",
    ),
)


@dataclass(frozen=True)
class Exclusion:
    """Why a document is refused: the rule, the field and element path, the value found."""

    rule: str
    field: str
    path: str
    value: str
    reason: str

    def finding(self) -> Finding:
        return error(
            FindingCode.DOCUMENT_EXCLUDED,
            f"{self.reason}: {self.field} là {self.value!r} (quy tắc {self.rule}).",
            self.path,
        )


def parse_rules(data: bytes | str) -> tuple[ExclusionRule, ...]:
    """The operator's rules from JSON; ValueError says what is wrong."""
    try:
        items = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"exclusion rules: not JSON: {exc}") from None
    if not isinstance(items, list):
        raise ValueError("exclusion rules: expected a JSON list of rules")
    rules = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"exclusion rules[{i}]: expected an object")
        values = item.get("values")
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and _norm(v) for v in values)
        ):
            raise ValueError(f"exclusion rules[{i}]: values must be a list of non-empty texts")
        match = item.get("match", "label")
        if match not in ("label", "equals"):
            raise ValueError(f"exclusion rules[{i}]: match must be label or equals")
        field, rule_id = item.get("field"), item.get("id") or f"operator-{i + 1}"
        if field not in FIELDS:
            raise ValueError(f"exclusion rules[{i}]: field must be one of {', '.join(FIELDS)}")
        reason = item.get("reason") or "Văn bản thuộc loại không được gửi qua trục liên thông"
        rules.append(ExclusionRule(str(rule_id), field, tuple(values), str(reason), match))
    return tuple(rules)


def extend(defaults: Iterable[ExclusionRule], extra: Iterable[ExclusionRule]) -> tuple:
    """Defaults plus the operator's rules; an operator rule replaces a default of its id."""
    extra = list(extra)
    replaced = {r.id for r in extra}
    return (*(r for r in defaults if r.id not in replaced), *extra)


def find_exclusions(
    package: DocumentPackage, rules: Iterable[ExclusionRule] = DEFAULT_RULES
) -> list[Exclusion]:
    found = []
    for rule in rules:
        marks = [_norm(v) for v in rule.values]
        for path, text in _field(package, rule.field):
            if _marked(_norm(text), marks, rule.match):
                found.append(Exclusion(rule.id, rule.field, path, text.strip(), rule.reason))
                break
    return found


def _field(package: DocumentPackage, field: str) -> Iterator[tuple[str, str]]:
    header = package.header
    other = header.other_info
    known: dict[str, str | None] = {
        "Subject": header.subject,
        "Content": header.content,
        "DocumentType/TypeName": header.document_type.type_name,
        "OtherInfo/SphereOfPromulgation": other.sphere_of_promulgation if other else None,
    }
    if known.get(field):
        yield f"{HEADER}/{field}", known[field] or ""


_SPACES = re.compile(r"\s+")
_OPEN = "([{«\"'“"
_CLOSE = ")]}»\"'”"


def _norm(text: str) -> str:
    """Compare as people read: composed Unicode, case folded, runs of spaces as one."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text).casefold()).strip()


def _marked(text: str, marks: list[str], match: str) -> bool:
    bare = text.strip(_OPEN + _CLOSE + " .:;,-–—")
    if bare in marks:
        return True
    if match == "equals":
        return False
    for mark in marks:
        # "(MẬT) …", "[Tối mật] …": a bracketed label at the start
        if text[:1] in _OPEN and text[1:].lstrip().startswith(mark):
            rest = text[1:].lstrip()[len(mark) :].lstrip()
            if rest[:1] and rest[:1] in _CLOSE:
                return True
        # "TỐI MẬT: …", "Mật - …": the label, then punctuation
        if text.startswith(mark):
            rest = text[len(mark) :].lstrip()
            if rest[:1] and rest[:1] in ":;-–—/|,.":
                return True
    return False
