"""Parsing the official samples into typed models."""

from __future__ import annotations

import pytest

from gateway.edxml import (
    BusinessDocType,
    DocumentPackage,
    EdxmlError,
    Priority,
    StatusCode,
    StatusPackage,
    parse_package,
    validate_package,
)
from gateway.edxml.codes import NAMESPACE, XMLDSIG_NAMESPACE
from support.samples import ALL_SAMPLES, DOCUMENT_SAMPLES, STATUS_SAMPLES, edited, sample_bytes


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_every_sample_is_accepted_without_errors(name: str) -> None:
    report = validate_package(sample_bytes(name))
    assert report.ok, [str(f) for f in report.errors]
    assert report.package is not None


@pytest.mark.parametrize("name", DOCUMENT_SAMPLES)
def test_document_samples_are_documents(name: str) -> None:
    assert isinstance(parse_package(sample_bytes(name)), DocumentPackage)


@pytest.mark.parametrize("name", STATUS_SAMPLES)
def test_status_samples_are_statuses(name: str) -> None:
    package = parse_package(sample_bytes(name))
    assert isinstance(package, StatusPackage)
    assert package.status is not None


def test_new_document_fields_and_vietnamese_text() -> None:
    package = parse_package(sample_bytes("edoc_new.edxml"))
    assert isinstance(package, DocumentPackage)
    header = package.header
    assert package.sender_id == "000.00.00.A80"
    assert package.recipient_ids == ["28.22.H17"]
    assert package.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert header.code.code_notation == "VPCP-TTĐT"
    assert str(header.code) == "74fass22/VPCP-TTĐT"
    assert header.promulgation_info.place == "Hà Nội"
    assert header.promulgation_info.promulgation_date == "2019/01/16"
    assert header.document_type.type == 1
    assert header.document_type.type_detail == 0
    assert header.document_type.type_name == "Công văn"
    assert header.subject == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert header.signer_info is not None
    assert header.signer_info.full_name == "Nguyen Thanh Phuc"
    assert header.due_date == "2018/09/28"
    assert header.other_info is not None
    assert header.other_info.direction is False
    assert header.other_info.page_amount == 22
    assert header.other_info.appendixes == [
        "Công văn về việc kết nối, liên thông phần mềm quản lý văn bản"
    ]
    assert header.steering_type == 1
    assert header.to_places == ["Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP"]
    assert package.priority is Priority.ORDINARY
    assert package.business_type is BusinessDocType.NEW
    business = package.trace.business
    assert business is not None
    assert business.staff_info is not None
    assert business.staff_info.staff == "Nguyễn Thị Ngọc Trâm"
    assert [t.organ_id for t in package.trace.trace_headers] == ["000.00.00.G22"]
    [reference] = package.references
    [attachment] = package.attachments
    assert reference.content_id == attachment.content_id == "cid:209"
    assert attachment.attachment_name == "1896_QD-TTg_m_294779.doc"
    assert attachment.data[:4] == b"PK\x03\x04"


def test_signature_block_is_kept_byte_exact_and_opaque() -> None:
    raw = sample_bytes("edoc_new.edxml")
    package = parse_package(raw)
    assert package.signature is not None
    assert package.signature.namespace == NAMESPACE  # the SDK placeholder, not xmldsig
    assert not package.signature.is_xmldsig
    assert package.signature.xml in raw
    assert package.signature.xml.startswith(b"<Signature>")
    assert package.signature.xml.endswith(b"</Signature>")


def test_xmldsig_signature_namespace_is_recorded() -> None:
    raw = edited(
        "edoc_update.edxml",
        "<Signature>",
        f'<Signature xmlns="{XMLDSIG_NAMESPACE}">',
    )
    package = parse_package(raw)
    assert package.signature is not None and package.signature.is_xmldsig


def test_update_replace_revoke_reference_their_originals() -> None:
    update = parse_package(sample_bytes("edoc_update.edxml"))
    assert update.business_type is BusinessDocType.UPDATE
    assert update.referenced_document_ids == ["000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"]
    info = update.trace.business.document_info
    assert [(r.organ_id, r.receiver_type) for r in info.receivers] == [
        ("000.00.00.H41", 0),
        ("000.00.00.H14", 1),
    ]
    replace = parse_package(sample_bytes("edoc_replacement.edxml"))
    assert replace.business_type is BusinessDocType.REPLACE
    assert replace.referenced_document_ids == ["000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"]
    assert replace.trace.business.replacements[0].organ_ids == ["000.00.00.H41", "000.00.00.H14"]
    revoke = parse_package(sample_bytes("edoc_revocation.edxml"))
    assert revoke.business_type is BusinessDocType.REVOKE
    assert revoke.referenced_document_ids == [revoke.document_id]
    assert revoke.header.response_for[0].code == "267/VPCP-TTĐT"


def test_status_fields() -> None:
    package = parse_package(sample_bytes("status_cancellation_13.edxml"))
    assert isinstance(package, StatusPackage)
    assert package.status is StatusCode.TAKE_BACK
    assert package.status.sent_by_original_sender
    assert package.sender_id == "000.00.00.G22"
    assert package.response_for.organ_id == "000.00.00.H41"
    assert package.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert package.timestamp == "2015/09/20 11:08:36"
    assert package.description == "Văn thư yêu cầu lấy lại văn bản điện tử kèm lý do"


def test_vendor_extensions_are_kept_as_extras() -> None:
    raw = edited(
        "edoc_new.edxml",
        "<edXML:SteeringType>1</edXML:SteeringType>",
        "<edXML:SteeringType>1</edXML:SteeringType>"
        "<edXML:ApplicationType>MCDT_DT</edXML:ApplicationType>",
    )
    package = parse_package(raw)
    [extra] = package.header.extras
    assert "ApplicationType" in extra.xml and "MCDT_DT" in extra.xml


def test_prefixed_and_unprefixed_names_are_the_same_element() -> None:
    raw = edited(
        "status.edxml",
        "<edXML:StatusCode>01</edXML:StatusCode>",
        "<StatusCode>01</StatusCode>",
    )
    assert parse_package(raw).status_code == "01"


def test_text_is_normalised_to_nfc_with_a_warning() -> None:
    decomposed = "Ho\u0300a"  # "Hòa" with a combining grave accent
    raw = edited("status.edxml", "Nguyễn Thị Ngọc Trâm", decomposed)
    report = validate_package(raw)
    assert report.ok
    assert report.package.staff_info.staff == "Hòa"
    assert "TEXT_NORMALIZED" in {f.code for f in report.warnings}


def test_parse_raises_only_edxml_error_with_findings() -> None:
    with pytest.raises(EdxmlError) as caught:
        parse_package(b"<edXML")
    assert caught.value.findings[0].code == "XML_MALFORMED"
