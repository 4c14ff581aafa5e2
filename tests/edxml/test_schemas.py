"""The edXML XSDs (schemas/) against the official SDK samples and known variants.

Uses lxml directly (no `gateway` import) so it runs while the parser is still being written.
Like the parser, it replaces each ContentTransferEncoded payload with a short marker before
validating.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
SAMPLES = ROOT / "tests" / "data" / "samples"

DOCUMENT_SAMPLES = sorted(p.name for p in SAMPLES.glob("edoc_*.edxml"))
STATUS_SAMPLES = sorted(p.name for p in SAMPLES.glob("status*.edxml"))

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def q(name: str) -> str:
    return f"{{{NS}}}{name}"


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name), _PARSER))


@cache
def _sample(name: str) -> etree._ElementTree:
    tree = etree.parse(str(SAMPLES / name), _PARSER)
    for el in tree.iter(q("ContentTransferEncoded")):
        el.text = "#0"
    return tree


def sample(name: str) -> etree._ElementTree:
    """A private, payload-stripped copy of a sample package."""
    return copy.deepcopy(_sample(name))


def errors(xsd: str, tree: etree._ElementTree | etree._Element) -> list[str]:
    s = schema(xsd)
    if s.validate(tree):
        return []
    return [f"{e.line}: {e.message}" for e in s.error_log]


def one(tree: etree._ElementTree, path: str) -> etree._Element:
    found = tree.getroot().findall(path, {"e": NS})
    assert len(found) == 1, path
    return found[0]


def from_string(text: str) -> etree._Element:
    return etree.fromstring(text.encode(), _PARSER)


# --------------------------------------------------------------------------- compile + samples


def test_samples_present() -> None:
    assert len(DOCUMENT_SAMPLES) == 4
    assert len(STATUS_SAMPLES) == 10


@pytest.mark.parametrize("xsd", ["types.xsd", "document.xsd", "status.xsd"])
def test_schema_compiles(xsd: str) -> None:
    assert schema(xsd) is not None


@pytest.mark.parametrize("name", DOCUMENT_SAMPLES)
def test_document_sample_is_valid(name: str) -> None:
    assert errors("document.xsd", sample(name)) == []


@pytest.mark.parametrize("name", STATUS_SAMPLES)
def test_status_sample_is_valid(name: str) -> None:
    assert errors("status.xsd", sample(name)) == []


@pytest.mark.parametrize("name", DOCUMENT_SAMPLES[:1] + STATUS_SAMPLES[:1])
def test_kind_is_not_interchangeable(name: str) -> None:
    other = "document.xsd" if name.startswith("status") else "status.xsd"
    assert errors(other, sample(name))


# --------------------------------------------------------------------------- negative cases

MH = "e:edXMLEnvelope/e:edXMLHeader/e:MessageHeader"
TRACE = "e:edXMLEnvelope/e:edXMLHeader/e:TraceHeaderList"


def _unknown_in_message_header(t: etree._ElementTree) -> None:
    etree.SubElement(one(t, MH), q("Foo")).text = "x"


def _priority_7(t: etree._ElementTree) -> None:
    one(t, f"{MH}/e:OtherInfo/e:Priority").text = "7"


def _business_type_9(t: etree._ElementTree) -> None:
    one(t, f"{TRACE}/e:Bussiness/e:BussinessDocType").text = "9"


def _from_without_organ_id(t: etree._ElementTree) -> None:
    el = one(t, f"{MH}/e:From/e:OrganId")
    el.getparent().remove(el)


def _trace_without_timestamp(t: etree._ElementTree) -> None:
    el = one(t, f"{TRACE}/e:TraceHeader/e:Timestamp")
    el.getparent().remove(el)


def _wrong_root_namespace(t: etree._ElementTree) -> None:
    t.getroot().tag = "{http://example.org/not-qcvn}edXML"


def _unknown_in_organization(t: etree._ElementTree) -> None:
    etree.SubElement(one(t, f"{MH}/e:From"), q("Nickname")).text = "x"


def _bad_promulgation_date(t: etree._ElementTree) -> None:
    one(t, f"{MH}/e:PromulgationInfo/e:PromulgationDate").text = "28.09.2018"


def _bad_trace_timestamp(t: etree._ElementTree) -> None:
    one(t, f"{TRACE}/e:TraceHeader/e:Timestamp").text = "2018-09-28T00:00:00"


def _organ_id_too_long(t: etree._ElementTree) -> None:
    one(t, f"{MH}/e:From/e:OrganId").text = "A" * 36


def _no_trace_header_list(t: etree._ElementTree) -> None:
    el = one(t, TRACE)
    el.getparent().remove(el)


def _code_without_notation(t: etree._ElementTree) -> None:
    el = one(t, f"{MH}/e:Code/e:CodeNotation")
    el.getparent().remove(el)


def _attachment_without_payload(t: etree._ElementTree) -> None:
    el = one(t, "e:AttachmentEncoded/e:Attachment/e:ContentTransferEncoded")
    el.getparent().remove(el)


def _foreign_signature_namespace(t: etree._ElementTree) -> None:
    header = one(t, "e:edXMLEnvelope/e:edXMLHeader")
    header.remove(header.find(q("Signature")))
    etree.SubElement(header, "{urn:x}Signature")


def _two_signatures(t: etree._ElementTree) -> None:
    etree.SubElement(one(t, "e:edXMLEnvelope/e:edXMLHeader"), q("DigitalSignature"))


DOCUMENT_BREAKERS: list[Callable[[etree._ElementTree], None]] = [
    _unknown_in_message_header,
    _priority_7,
    _business_type_9,
    _from_without_organ_id,
    _trace_without_timestamp,
    _wrong_root_namespace,
    _unknown_in_organization,
    _bad_promulgation_date,
    _bad_trace_timestamp,
    _organ_id_too_long,
    _no_trace_header_list,
    _code_without_notation,
    _attachment_without_payload,
    _foreign_signature_namespace,
    _two_signatures,
]


@pytest.mark.parametrize("breaker", DOCUMENT_BREAKERS, ids=lambda f: f.__name__.strip("_"))
def test_document_rejects(breaker: Callable[[etree._ElementTree], None]) -> None:
    tree = sample("edoc_new.edxml")
    breaker(tree)
    assert errors("document.xsd", tree)


def _status_code_one_digit(t: etree._ElementTree) -> None:
    one(t, f"{MH}/e:StatusCode").text = "1"


def _status_without_timestamp(t: etree._ElementTree) -> None:
    el = one(t, f"{MH}/e:Timestamp")
    el.getparent().remove(el)


def _status_without_response_for(t: etree._ElementTree) -> None:
    el = one(t, f"{MH}/e:ResponseFor")
    el.getparent().remove(el)


def _status_twice(t: etree._ElementTree) -> None:
    etree.SubElement(one(t, MH), q("StatusCode")).text = "02"


def _status_unknown_child(t: etree._ElementTree) -> None:
    etree.SubElement(one(t, MH), q("To"))


STATUS_BREAKERS: list[Callable[[etree._ElementTree], None]] = [
    _status_code_one_digit,
    _status_without_timestamp,
    _status_without_response_for,
    _status_twice,
    _status_unknown_child,
    _from_without_organ_id,
    _wrong_root_namespace,
]


@pytest.mark.parametrize("breaker", STATUS_BREAKERS, ids=lambda f: f.__name__.strip("_"))
def test_status_rejects(breaker: Callable[[etree._ElementTree], None]) -> None:
    tree = sample("status.edxml")
    breaker(tree)
    assert errors("status.xsd", tree)


# --------------------------------------------------------------------------- accepted variants


def test_document_accepts_tolerated_variants() -> None:
    """Empty values, reordering, vendor extensions, legacy ids, other date forms."""
    tree = sample("edoc_revocation.edxml")
    mh = one(tree, MH)
    # MessageHeader children in another order: DocumentId last (.NET SDK), ResponseFor first
    mh.append(one(tree, f"{MH}/e:DocumentId"))
    mh.insert(0, mh.find(q("ResponseFor")))
    etree.SubElement(mh, q("ResponseFor"))  # empty <ResponseFor/>
    one(tree, f"{MH}/e:DueDate").text = ""
    one(tree, f"{MH}/e:PromulgationInfo/e:PromulgationDate").text = "28/09/2018"
    one(tree, f"{MH}/e:From/e:OrganId").text = "vxp.saas.03"
    one(tree, f"{MH}/e:From/e:Email").text = None
    for name, value in (("ApplicationType", "MCDT_DT"), ("TaskCode", "T1")):
        etree.SubElement(mh, q(name)).text = value
    other = one(tree, f"{MH}/e:OtherInfo")
    etree.SubElement(etree.SubElement(other, q("ReferenceCodes")), q("Code")).text = "HS-1"
    etree.SubElement(other, q("ReplyFors"))
    business = one(tree, f"{TRACE}/e:Bussiness")
    business.append(business.find(q("Paper")))  # Paper after StaffInfo (LGSP builder)
    business.find(q("Paper")).text = ""
    staff = business.find(q("StaffInfo"))
    etree.SubElement(staff, q("DepartmentId")).text = "12"
    etree.SubElement(staff, q("StaffId")).text = "34"
    attachment = one(tree, "e:AttachmentEncoded/e:Attachment")
    attachment.insert(0, attachment.find(q("ContentTransferEncoded")))
    etree.SubElement(attachment, q("MimeType")).text = "application/pdf"
    etree.SubElement(attachment, q("FieldName")).text = "file"
    assert errors("document.xsd", tree) == []


def test_document_accepts_xmldsig_signature_or_none() -> None:
    tree = sample("edoc_new.edxml")
    header = one(tree, "e:edXMLEnvelope/e:edXMLHeader")
    signature = header.find(q("Signature"))
    header.remove(signature)
    assert errors("document.xsd", tree) == []
    real = etree.SubElement(header, f"{{{DSIG}}}Signature")
    etree.SubElement(real, f"{{{DSIG}}}SignedInfo")
    etree.SubElement(real, f"{{{DSIG}}}SignatureValue").text = "AAAA"
    assert errors("document.xsd", tree) == []


NET_SDK_PACKAGE = f"""<?xml version="1.0" encoding="utf-8"?>
<edXML xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns="{NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>H37.02.02</edXML:OrganId>
          <edXML:OrganizationInCharge>Sở KH&amp;CN</edXML:OrganizationInCharge>
          <edXML:OrganName>Sở KH&amp;CN</edXML:OrganName>
        </edXML:From>
        <edXML:To>
          <edXML:OrganId>000.00.00.H37</edXML:OrganId>
          <edXML:OrganName>UBND tỉnh</edXML:OrganName>
        </edXML:To>
        <edXML:Code>
          <edXML:CodeNumber>12</edXML:CodeNumber>
          <edXML:CodeNotation>SKHCN-VP</edXML:CodeNotation>
        </edXML:Code>
        <edXML:PromulgationInfo>
          <edXML:Place>N/A</edXML:Place>
          <edXML:PromulgationDate>2024-05-06</edXML:PromulgationDate>
        </edXML:PromulgationInfo>
        <edXML:DocumentType>
          <edXML:Type>18</edXML:Type>
          <edXML:TypeName>Công văn</edXML:TypeName>
          <edXML:TypeDetail>0</edXML:TypeDetail>
        </edXML:DocumentType>
        <edXML:Subject>V/v thử nghiệm</edXML:Subject>
        <edXML:Content>V/v thử nghiệm</edXML:Content>
        <edXML:SignerInfo><edXML:FullName>A</edXML:FullName></edXML:SignerInfo>
        <edXML:DueDate>2024/05/08</edXML:DueDate>
        <edXML:ToPlaces><edXML:Place>UBND tỉnh</edXML:Place></edXML:ToPlaces>
        <edXML:OtherInfo>
          <edXML:Priority>0</edXML:Priority>
          <edXML:PageAmount>1</edXML:PageAmount>
          <edXML:Appendixes><edXML:Appendix></edXML:Appendix></edXML:Appendixes>
        </edXML:OtherInfo>
        <edXML:SteeringType>0</edXML:SteeringType>
        <edXML:DocumentId>H37.02.02,2024/05/06,12/SKHCN-VP</edXML:DocumentId>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList id="0a1b2c3d" version="1.0" mustUnderstand="1"
          actor="http://schemas.xmlsoap.org/soap/actor/next">
        <edXML:TraceHeader>
          <edXML:OrganId>H37.02.02</edXML:OrganId>
          <edXML:Timestamp>2024/05/06 08:30:00</edXML:Timestamp>
        </edXML:TraceHeader>
        <edXML:Bussiness>
          <edXML:BussinessDocType>0</edXML:BussinessDocType>
          <edXML:BussinessDocReason>Van ban dien tu moi</edXML:BussinessDocReason>
          <edXML:StaffInfo>
            <edXML:Staff>A</edXML:Staff><edXML:Mobile></edXML:Mobile><edXML:Email></edXML:Email>
          </edXML:StaffInfo>
          <edXML:Paper>0</edXML:Paper>
        </edXML:Bussiness>
      </edXML:TraceHeaderList>
      <edXML:DigitalSignature />
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="cid:u-1"
            xlink:role="XLinkRole" xlink:type="simple">
          <edXML:Description>File dinh kem 1</edXML:Description>
          <edXML:AttachmentName>a.pdf</edXML:AttachmentName>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:ContentId>cid:u-1</edXML:ContentId>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentType>application/pdf</ContentType>
      <ContentId>u-1</ContentId>
      <Description>File dinh kem 1</Description>
      <ContentTransferEncoded>#0</ContentTransferEncoded>
      <AttachmentName>a.pdf</AttachmentName>
    </Attachment>
  </AttachmentEncoded>
</edXML>
"""


def test_document_accepts_dotnet_sdk_layout() -> None:
    assert errors("document.xsd", from_string(NET_SDK_PACKAGE)) == []


def test_status_accepts_reordered_and_minimal() -> None:
    tree = sample("status.edxml")
    mh = one(tree, MH)
    mh.insert(0, mh.find(q("Timestamp")))
    mh.remove(mh.find(q("StaffInfo")))
    mh.remove(mh.find(q("Description")))
    response_for = mh.find(q("ResponseFor"))
    for child in list(response_for):
        response_for.remove(child)  # empty <ResponseFor/>: required parts are a Python rule
    assert errors("status.xsd", tree) == []


def test_status_tolerates_signature_and_trace_list() -> None:
    tree = sample("status.edxml")
    header = one(tree, "e:edXMLEnvelope/e:edXMLHeader")
    trace_list = etree.SubElement(header, q("TraceHeaderList"), id="x")
    trace = etree.SubElement(trace_list, q("TraceHeader"))
    etree.SubElement(trace, q("OrganId")).text = "000.00.00.H41"
    etree.SubElement(trace, q("Timestamp")).text = "2018/09/28 17:25:11"
    etree.SubElement(header, q("DigitalSignature"))
    assert errors("status.xsd", tree) == []
