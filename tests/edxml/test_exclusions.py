"""Documents kept off the network (gateway.edxml.exclusions): secret marks and complaint letters
refuse a package, the same words inside a sentence do not; the table is operator-extendable."""

from __future__ import annotations

import unicodedata

import pytest

from gateway.edxml import Limits, validate_package
from gateway.edxml.exclusions import DEFAULT_RULES, extend, parse_rules
from support.samples import sample_bytes

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
SPHERE = "<edXML:SphereOfPromulgation>Liên thông văn bản quốc gia</edXML:SphereOfPromulgation>"
SUBJECT = "<edXML:Subject>V/v kết nối, liên thông phần mềm quản lý văn bản</edXML:Subject>"
TYPE_NAME = "<edXML:TypeName>Công văn</edXML:TypeName>"


def package(*, sphere=None, subject=None, type_name=None) -> bytes:
    data = sample_bytes("edoc_new.edxml").decode()
    assert SPHERE in data and SUBJECT in data and TYPE_NAME in data
    if sphere is not None:
        data = data.replace(
            SPHERE, f"<edXML:SphereOfPromulgation>{sphere}</edXML:SphereOfPromulgation>"
        )
    if subject is not None:
        data = data.replace(SUBJECT, f"<edXML:Subject>{subject}</edXML:Subject>")
    if type_name is not None:
        data = data.replace(TYPE_NAME, f"<edXML:TypeName>{type_name}</edXML:TypeName>")
    return data.encode()


def excluded(data: bytes, limits: Limits | None = None) -> list[tuple[str | None, int | None]]:
    report = validate_package(data, limits=limits or Limits())
    other = [f for f in report.errors if f.code != "DOCUMENT_EXCLUDED"]
    assert other == [], other
    return [(f.path, f.line) for f in report.errors if f.code == "DOCUMENT_EXCLUDED"]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"sphere": "TỐI MẬT"}, "OtherInfo/SphereOfPromulgation"),
        ({"sphere": "Mật"}, "OtherInfo/SphereOfPromulgation"),
        ({"sphere": "Tuyệt mật - chỉ người có tên"}, "OtherInfo/SphereOfPromulgation"),
        ({"subject": "TỐI MẬT: Kế hoạch bảo vệ mục tiêu"}, "Subject"),
        ({"subject": "(Mật) Về việc triển khai phương án"}, "Subject"),
        ({"subject": "[TUYỆT MẬT] Báo cáo"}, "Subject"),
        ({"type_name": "Đơn khiếu nại"}, "DocumentType/TypeName"),
        ({"type_name": "ĐƠN TỐ CÁO"}, "DocumentType/TypeName"),
        # decomposed Unicode (NFD) reads the same
        ({"sphere": unicodedata.normalize("NFD", "Tối mật")}, "OtherInfo/SphereOfPromulgation"),
    ],
)
def test_marked_documents_are_excluded(kw, field) -> None:
    [(path, line)] = excluded(package(**kw))
    assert path == f"{HEADER}/{field}"
    assert line is not None


@pytest.mark.parametrize(
    "kw",
    [
        {"subject": "Về việc tăng cường công tác bảo vệ bí mật nhà nước"},
        {"subject": "Hướng dẫn xử lý tài liệu mật, tối mật, tuyệt mật"},
        {"subject": "Mật ong xuất khẩu năm 2026"},
        {"subject": "V/v giải quyết đơn khiếu nại, tố cáo của công dân"},
        {"sphere": "Lưu hành nội bộ, không phổ biến bí mật"},
        {"type_name": "Công văn", "subject": "Trả lời đơn tố cáo"},
    ],
)
def test_words_inside_a_sentence_are_not_marks(kw) -> None:
    assert excluded(package(**kw)) == []


def test_operator_rules_extend_the_table() -> None:
    rules = parse_rules(
        '[{"id": "noi-bo", "field": "OtherInfo/SphereOfPromulgation",'
        ' "values": ["Lưu hành nội bộ"], "reason": "Chỉ lưu hành nội bộ"}]'
    )
    data = package(sphere="Lưu hành nội bộ")
    assert excluded(data) == []
    limits = Limits(exclusions=extend(DEFAULT_RULES, rules))
    [(path, _)] = excluded(data, limits)
    assert path.endswith("/SphereOfPromulgation")
    # the built-in rules still apply
    assert excluded(package(sphere="Tối mật"), limits)
    # an operator rule may replace a default one by its id
    relaxed = extend(
        DEFAULT_RULES,
        parse_rules(
            '[{"id": "complaint-denunciation", "field": "DocumentType/TypeName",'
            ' "values": ["đơn tố cáo"], "match": "equals"}]'
        ),
    )
    assert excluded(package(type_name="Đơn khiếu nại"), Limits(exclusions=relaxed)) == []


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        "[1]",
        '[{"field": "Subject", "values": []}]',
        '[{"field": "OtherInfo/SecurityLevel", "values": ["a"]}]',
        '[{"field": "Subject", "values": ["a"], "match": "regex"}]',
        "not json",
    ],
)
def test_bad_rule_files_are_refused(text) -> None:
    with pytest.raises(ValueError):
        parse_rules(text)
