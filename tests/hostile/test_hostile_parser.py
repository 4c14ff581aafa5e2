"""Parser differentials (issue 18, item 1), on SQLite and PostgreSQL.

Each package here is read differently by a standard XML parser (what every recipient uses)
and by a gateway that cuts text out of the XML before parsing it. The gateway must validate
what a standard parser finds: every one of these is refused with nothing stored, and a signed
package carrying anything outside what its signature covers never classifies signed-valid.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from lxml import etree

from conftest import GatewayClient, sample_bytes
from gateway.edxml import validate_package
from gateway.trust import SignatureClass, TrustStore, verify_package
from gateway.trust.xmlsafe import new_parser
from trust.pki import Pki, agency_sign, build_pki, strip_signatures

A80, H17 = "000.00.00.A80", "28.22.H17"
EDOC = sample_bytes("edoc_new.edxml")
TABLES = ("packages", "deliveries", "outbox", "audit_events", "queued_jobs")
WINDOWS_EXE = base64.b64encode(b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 4000).decode()
PLACEHOLDER = re.compile(rb"<Signature>.*?</Signature>", re.DOTALL)

# The CDATA trick: inside the placeholder Signature a ContentTransferEncoded holds a CDATA
# section whose text is an opening ContentTransferEncoded tag. A standard parser sees a short
# text and the element closing; a regex that cuts "<ContentTransferEncoded>…</…>" takes the
# `]]>` as a payload, so for it the CDATA runs on until the next `]]>` (in CLOSE), hiding
# everything in between.
OPEN = (
    b"<Signature><ContentTransferEncoded><![CDATA[<ContentTransferEncoded>]]>"
    b"</ContentTransferEncoded></Signature>"
)
CLOSE = b"<Signature><ContentTransferEncoded><![CDATA[]]></ContentTransferEncoded></Signature>"


def hidden_behind_cdata(hidden: bytes) -> bytes:
    data, count = PLACEHOLDER.subn(lambda _m: OPEN + hidden + CLOSE, EDOC, count=1)
    assert count == 1
    return data


def spoofed_message_header() -> bytes:
    start = EDOC.index(b"<edXML:MessageHeader>")
    end = EDOC.index(b"</edXML:MessageHeader>") + len(b"</edXML:MessageHeader>")
    forged = EDOC[start:end].replace(A80.encode(), b"000.00.00.G01", 1)
    return hidden_behind_cdata(forged)


def executable_attachment_envelope() -> bytes:
    hidden = (
        b"</edXML:edXMLHeader></edXML:edXMLEnvelope>"
        b"<AttachmentEncoded><Attachment><ContentId>cid:209</ContentId>"
        b"<AttachmentName>invoice.exe</AttachmentName>"
        b"<ContentTransferEncoded>" + WINDOWS_EXE.encode() + b"</ContentTransferEncoded>"
        b"</Attachment></AttachmentEncoded>"
        b'<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
        b"<edXML:edXMLHeader>"
    )
    return hidden_behind_cdata(hidden)


def real_payload_as_marker(hiding_place: bytes) -> bytes:
    """The real ContentTransferEncoded says `#0` (in CDATA); the honest attachment sits in a
    comment or CDATA elsewhere, where a regex finds it as payload number 0."""
    match = re.search(
        rb"(<edXML:ContentTransferEncoded[^>]*>)([^<]*)(</edXML:ContentTransferEncoded>)", EDOC
    )
    assert match
    honest = b"<ContentTransferEncoded>" + match[2] + b"</ContentTransferEncoded>"
    data = EDOC[: match.start(2)] + b"<![CDATA[#0]]>" + EDOC[match.end(2) :]
    subject = b"<edXML:Subject>"
    if hiding_place == b"comment":
        return data.replace(subject, b"<!--" + honest + b"-->" + subject, 1)
    return data.replace(subject, subject + b"<![CDATA[" + honest + b"]]>", 1)


def executable_in_placeholder() -> bytes:
    attachment = (
        b"<Attachment><ContentId>cid:666</ContentId><AttachmentName>setup.exe</AttachmentName>"
        b"<ContentTransferEncoded>" + WINDOWS_EXE.encode() + b"</ContentTransferEncoded>"
        b"</Attachment></Signature>"
    )
    return EDOC.replace(b"</Signature>", attachment, 1)


def standard_view(data: bytes) -> etree._Element:
    return etree.fromstring(data, parser=new_parser())


# ----------------------------------------------------------------------------------- tests


def test_a_standard_parser_sees_what_the_attacks_hide() -> None:
    """The attacks are real: a standard parser finds the hidden elements."""
    ns = "{http://www.mic.gov.vn/TBT/QCVN_102_2016}"
    root = standard_view(spoofed_message_header())
    assert len(list(root.iter(f"{ns}MessageHeader"))) == 2
    root = standard_view(executable_attachment_envelope())
    names = [a.findtext(f"{ns}AttachmentName") for a in root.iter(f"{ns}Attachment")]
    assert "invoice.exe" in names
    for place in (b"comment", b"cdata"):
        root = standard_view(real_payload_as_marker(place))
        assert [e.text for e in root.iter(f"{ns}ContentTransferEncoded")] == ["#0"]
    root = standard_view(executable_in_placeholder())
    assert len(list(root.iter(f"{ns}Attachment"))) == 2


@pytest.mark.parametrize(
    ("name", "build", "finding"),
    [
        ("second-message-header-behind-cdata", spoofed_message_header, "SCHEMA_INVALID"),
        ("executable-attachment-behind-cdata", executable_attachment_envelope, "SCHEMA_INVALID"),
        ("payload-hidden-in-comment", lambda: real_payload_as_marker(b"comment"), "BASE64_INVALID"),
        ("payload-hidden-in-cdata", lambda: real_payload_as_marker(b"cdata"), "BASE64_INVALID"),
        ("executable-inside-placeholder", executable_in_placeholder, "ELEMENT_MISPLACED"),
    ],
)
def test_validation_sees_what_a_standard_parser_sees(name, build, finding) -> None:
    report = validate_package(build())
    assert not report.ok, name
    assert finding in {f.code for f in report.errors}, (name, report.errors)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return build_pki()


@pytest.fixture
async def gateway(make_gateway, pki: Pki, tmp_path: Path) -> tuple[GatewayClient, dict[str, str]]:
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_bytes(pki.bundle_pem())
    gw = await make_gateway(trust_bundle=bundle)
    keys = await gw.setup(A80, H17)
    return gw, keys


async def counts(gw: GatewayClient) -> dict[str, int]:
    return {t: await gw.count(t) for t in TABLES}


async def test_differentials_are_refused_with_nothing_stored(gateway) -> None:
    gw, keys = gateway
    before = await counts(gw)
    plain_exe = EDOC.replace(b"_294779.doc</AttachmentName>", b"_294779.exe</AttachmentName>")
    cases = {
        "second-message-header-behind-cdata": spoofed_message_header(),
        "executable-attachment-behind-cdata": executable_attachment_envelope(),
        "payload-hidden-in-comment": real_payload_as_marker(b"comment"),
        "payload-hidden-in-cdata": real_payload_as_marker(b"cdata"),
        "executable-inside-placeholder": executable_in_placeholder(),
        "plain-executable-name": plain_exe,
    }
    problems = []
    for name, data in cases.items():
        r = await gw.post_package(data, keys[A80])
        if r.status_code != 422 or r.json()["error"]["code"] != "VALIDATION_FAILED":
            problems.append(f"{name}: {r.status_code} {r.text[:300]}")
    assert not problems, "\n".join(problems)
    assert await counts(gw) == before
    r = await gw.post_package(EDOC, keys[A80])  # the honest sample still goes through
    assert r.status_code == 202, r.text


def forged_object(signed: bytes) -> bytes:
    """After signing: a ds:Object with a forged MessageHeader appended to the Signature."""
    root = standard_view(signed)
    ds = "http://www.w3.org/2000/09/xmldsig#"
    ns = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
    signature = root.find(f".//{{{ds}}}Signature")
    header = root.find(f".//{{{ns}}}MessageHeader")
    forged = etree.fromstring(etree.tostring(header))
    forged.find(f"{{{ns}}}From/{{{ns}}}OrganId").text = "000.00.00.G01"
    obj = etree.SubElement(signature, f"{{{ds}}}Object")
    obj.append(forged)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_unsigned_object_after_signing_is_not_signed_valid(pki: Pki) -> None:
    signed = agency_sign(strip_signatures(EDOC), pki.agency_key, [pki.agency, pki.intermediate])
    store = TrustStore([pki.root, pki.intermediate])
    at = pki.now  # the PKI's own moment, not the real clock
    assert verify_package(signed, store, at=at).classification is SignatureClass.SIGNED_VALID
    tampered = forged_object(signed)
    report = verify_package(tampered, store, at=at)
    assert report.classification is not SignatureClass.SIGNED_VALID
    assert report.reason is not None and report.reason.code == "SIGNATURE_WRAPPING"


async def test_unsigned_object_after_signing_is_refused(gateway, pki: Pki) -> None:
    gw, keys = gateway
    before = await counts(gw)
    signed = agency_sign(strip_signatures(EDOC), pki.agency_key, [pki.agency, pki.intermediate])
    r = await gw.post_package(forged_object(signed), keys[A80])
    assert 400 <= r.status_code < 500, r.text
    assert await counts(gw) == before


async def test_relayed_trace_header_goes_where_a_standard_parser_sees_it(gateway) -> None:
    """The TraceHeader appended as the bytes leave must not land inside a CDATA section that
    holds tag-like text (the recipient would see its Subject changed and no gateway hop)."""
    gw, keys = gateway
    hiding = b"<![CDATA[</edXML:TraceHeader></edXML:TraceHeaderList>]]>"
    data = EDOC.replace(b"<edXML:Subject>V/v", b"<edXML:Subject>" + hiding + b"V/v", 1)
    r = await gw.post_package(data, keys[A80])
    assert r.status_code == 202, r.text
    package_id = r.json()["package_id"]
    r = await gw.http.get(
        f"/api/v1/packages/{package_id}", headers={"Authorization": f"Bearer {keys[H17]}"}
    )
    assert r.status_code == 200, r.text
    ns = "{http://www.mic.gov.vn/TBT/QCVN_102_2016}"
    sent, received = standard_view(data), standard_view(r.content)
    assert received.findtext(f".//{ns}Subject") == sent.findtext(f".//{ns}Subject")
    traces = received.findall(f".//{ns}TraceHeaderList/{ns}TraceHeader")
    assert len(traces) == len(sent.findall(f".//{ns}TraceHeaderList/{ns}TraceHeader")) + 1
    assert traces[-1].findtext(f"{ns}OrganId") == gw.app.state.settings.node_code
