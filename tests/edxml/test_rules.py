"""The business rules, one by one, on small edits of the official samples."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.edxml import validate_package
from gateway.edxml.rules import check_organ_id
from support.samples import edited, sample_bytes

TODAY = date(2026, 11, 21)


def findings(data: bytes) -> dict[str, list]:
    report = validate_package(data, today=TODAY)
    grouped: dict[str, list] = {}
    for finding in report.findings:
        grouped.setdefault(finding.code, []).append(finding)
    return grouped


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("000.00.00.H53", None),  # 2016 form
        ("H41.22.01", None),  # QĐ 20/2020 form
        ("28.22.H17", None),
        ("A" * 35, None),
        ("vxp.saas.03", "warning"),  # seen in the wild
        ("001_00-20", "warning"),
        ("A" * 36, "error"),
        ("", "error"),
        ("000 00 00 H53", "error"),
        ("000.00.00.H53;DROP", "error"),
    ],
)
def test_agency_codes(value: str, severity: str | None) -> None:
    finding = check_organ_id(value, "/x")
    assert (finding.severity.value if finding else None) == severity


def test_nonstandard_code_in_package_is_a_warning_with_path_and_line() -> None:
    data = edited("edoc_new.edxml", "<edXML:OrganId>28.22.H17</edXML:OrganId>",
                  "<edXML:OrganId>vxp.saas.03</edXML:OrganId>")
    report = validate_package(data, today=TODAY)
    assert report.ok
    [finding] = [f for f in report.warnings if f.code == "ORGAN_ID_NONSTANDARD"]
    assert finding.path == "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To/OrganId"
    assert finding.line == 18


def test_duplicate_recipient_points_at_the_repeat() -> None:
    data = edited("edoc_update.edxml", "<edXML:OrganId>000.00.00.H14</edXML:OrganId>",
                  "<edXML:OrganId>000.00.00.H41</edXML:OrganId>")
    [finding] = findings(data)["RECIPIENT_DUPLICATE"]
    assert finding.path.endswith("/MessageHeader/To[2]/OrganId")
    assert finding.line is not None


def test_promulgation_date_in_future_is_an_error() -> None:
    data = edited("edoc_new.edxml", "<edXML:PromulgationDate>2019/01/16",
                  "<edXML:PromulgationDate>2026/11/22")
    assert "DATE_IN_FUTURE" in findings(data)


def test_promulgation_date_today_is_fine() -> None:
    data = edited("edoc_new.edxml", "<edXML:PromulgationDate>2019/01/16",
                  "<edXML:PromulgationDate>2026/11/21")
    assert validate_package(data, today=TODAY).ok


def test_promulgation_date_impossible_is_an_error() -> None:
    data = edited("edoc_new.edxml", "<edXML:PromulgationDate>2019/01/16",
                  "<edXML:PromulgationDate>2019/02/30")
    assert "DATE_INVALID" in findings(data)


def test_day_first_date_is_accepted_with_a_warning() -> None:
    data = edited("edoc_new.edxml", "<edXML:PromulgationDate>2019/01/16",
                  "<edXML:PromulgationDate>16/01/2019")
    report = validate_package(data, today=TODAY)
    assert report.ok
    assert "DATE_DAY_FIRST" in {f.code for f in report.warnings}


def test_impossible_trace_timestamp() -> None:
    data = edited("edoc_new.edxml", "2018/09/28 00:00:00", "2018/02/30 00:00:00")
    assert "TIMESTAMP_INVALID" in findings(data)


@pytest.mark.parametrize("code", ["00", "07", "12", "14", "99"])
def test_unknown_status_codes(code: str) -> None:
    data = edited("status.edxml", "<edXML:StatusCode>01", f"<edXML:StatusCode>{code}")
    assert "STATUS_CODE_UNKNOWN" in findings(data)


def test_status_without_response_document() -> None:
    data = edited("status.edxml",
                  "<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>",
                  "")
    assert "ELEMENT_MISSING" in findings(data)


def test_update_without_document_info() -> None:
    text = sample_bytes("edoc_update.edxml").decode()
    start = text.index("<edXML:BussinessDocumentInfo>")
    end = text.index("</edXML:BussinessDocumentInfo>") + len("</edXML:BussinessDocumentInfo>")
    data = (text[:start] + text[end:]).encode()
    assert "BUSINESS_PART_MISSING" in findings(data)


def test_replace_without_replacement_list() -> None:
    text = sample_bytes("edoc_replacement.edxml").decode()
    start = text.index("<edXML:ReplacementInfoList>")
    end = text.index("</edXML:ReplacementInfoList>") + len("</edXML:ReplacementInfoList>")
    data = (text[:start] + text[end:]).encode()
    assert "BUSINESS_PART_MISSING" in findings(data)


def test_revoke_must_name_the_original() -> None:
    data = edited("edoc_revocation.edxml",
                  "<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>",
                  "")
    assert "BUSINESS_PART_MISSING" in findings(data)


def test_repeated_single_elements_in_message_header() -> None:
    data = edited("edoc_new.edxml", "<edXML:Subject>", "<edXML:Subject>x</edXML:Subject>"
                  "<edXML:Subject>")
    assert "ELEMENT_REPEATED" in findings(data)


def test_missing_subject() -> None:
    data = edited("edoc_new.edxml",
                  "<edXML:Subject>V/v kết nối, liên thông phần mềm quản lý văn bản</edXML:Subject>",
                  "")
    assert "ELEMENT_MISSING" in findings(data)


def test_content_id_binding_with_and_without_cid_prefix() -> None:
    data = edited("edoc_new.edxml", "<ContentId>cid:209</ContentId>", "<ContentId>209</ContentId>")
    assert validate_package(data, today=TODAY).ok


def test_attachment_without_manifest_reference_warns() -> None:
    text = sample_bytes("edoc_new.edxml").decode()
    start = text.index("<edXML:Reference>")
    end = text.index("</edXML:Reference>") + len("</edXML:Reference>")
    report = validate_package((text[:start] + text[end:]).encode(), today=TODAY)
    assert report.ok
    assert "ATTACHMENT_UNREFERENCED" in {f.code for f in report.warnings}


def test_duplicate_manifest_content_ids() -> None:
    text = sample_bytes("edoc_new.edxml").decode()
    start = text.index("<edXML:Reference>")
    end = text.index("</edXML:Reference>") + len("</edXML:Reference>")
    data = (text[:end] + text[start:end] + text[end:]).encode()
    assert "CONTENT_ID_DUPLICATE" in findings(data)


def test_findings_are_vietnamese_and_json_safe() -> None:
    data = edited("status.edxml", "<edXML:StatusCode>01", "<edXML:StatusCode>99")
    [finding] = findings(data)["STATUS_CODE_UNKNOWN"]
    assert "Mã trạng thái" in finding.message
    assert finding.as_dict()["severity"] == "error"
