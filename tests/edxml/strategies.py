"""Hypothesis strategies that generate valid edXML models."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

from gateway.edxml.models import (
    Attachment,
    Business,
    BusinessDocumentInfo,
    Code,
    DocumentPackage,
    DocumentType,
    MessageHeader,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    Reference,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
    TraceHeaderList,
)

# XML 1.0 characters, no surrogates or non-characters
_xml_chars = st.characters(
    blacklist_categories=("Cs", "Cc"),
    blacklist_characters="\ufffe\uffff",
) | st.sampled_from("\t\n\r àáảãạăằđêếệôồơờưứỳÀĐƯ<>&\"'")


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


text = st.text(_xml_chars, max_size=40).map(_clean).filter(
    lambda s: unicodedata.normalize("NFC", s) == s and s == s.strip()
)
nonempty = text.filter(bool)
optional_text = st.none() | text

organ_id = st.from_regex(r"\A[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}\Z") | st.from_regex(
    r"\A[0-9A-Z]{1,5}(\.[0-9A-Z]{1,5}){0,4}\Z"
)
a_date = st.dates().filter(lambda d: d.year >= 1000).map(lambda d: d.strftime("%Y/%m/%d"))
past_date = st.dates(max_value=__import__("datetime").date(2025, 1, 1)).filter(
    lambda d: d.year >= 1000
).map(lambda d: d.strftime("%Y/%m/%d"))
timestamp = st.datetimes().filter(lambda d: d.year >= 1000).map(
    lambda d: d.strftime("%Y/%m/%d %H:%M:%S")
)
small = st.integers(min_value=0, max_value=10_000)

organization = st.builds(
    Organization,
    organ_id=organ_id,
    organization_in_charge=optional_text,
    organ_name=optional_text,
    organ_add=optional_text,
    email=optional_text,
    telephone=optional_text,
    fax=optional_text,
    website=optional_text,
    extras=st.just([]),
)
staff_info = st.builds(
    StaffInfo,
    department=optional_text,
    staff=optional_text,
    email=optional_text,
    mobile=optional_text,
    extras=st.just([]),
)
response_for = st.builds(
    ResponseFor,
    organ_id=st.none() | organ_id,
    code=optional_text,
    promulgation_date=st.none() | a_date,
    document_id=optional_text,
)
business = st.builds(
    Business,
    doc_type=st.sampled_from([0, 1, 2, 3]),
    document_id=optional_text,
    reason=optional_text,
    paper=st.none() | st.sampled_from([0, 1]),
    document_info=st.none()
    | st.builds(
        BusinessDocumentInfo,
        document_info=st.none() | st.sampled_from(["0", "1"]),
        document_receiver=st.none() | st.sampled_from(["0", "1"]),
        receivers=st.none()
        | st.lists(st.builds(Receiver, organ_id=organ_id, receiver_type=st.sampled_from([0, 1])),
                   max_size=3),
    ),
    replacements=st.none()
    | st.lists(
        st.builds(ReplacementInfo, document_id=text,
                  organ_ids=st.lists(organ_id, min_size=1, max_size=3)),
        min_size=1,
        max_size=2,
    ),
    staff_info=st.none() | staff_info,
    extras=st.just([]),
)
trace = st.builds(
    TraceHeaderList,
    trace_headers=st.lists(
        st.builds(TraceHeader, organ_id=organ_id, timestamp=timestamp), min_size=1, max_size=3
    ),
    business=st.none() | business,
    attributes=st.just({}),
)


@st.composite
def attachments(draw: st.DrawFn) -> tuple[list[Reference], list[Attachment]]:
    count = draw(st.integers(min_value=0, max_value=3))
    references, files = [], []
    for i in range(count):
        content_id = draw(st.sampled_from([f"cid:{i}", f"{i}-uuid"]))
        name = draw(optional_text)
        references.append(
            Reference(content_id=content_id, content_type=draw(optional_text),
                      description=draw(optional_text), attachment_name=name)
        )
        files.append(
            Attachment(content_id=content_id, attachment_name=name,
                       description=draw(optional_text), content_type=draw(optional_text),
                       data=draw(st.binary(max_size=300)))
        )
    return references, files


@st.composite
def document_packages(draw: st.DrawFn) -> DocumentPackage:
    references, files = draw(attachments())
    header = MessageHeader(
        sender=draw(organization),
        recipients=draw(st.lists(organization, min_size=1, max_size=3)),
        document_id=draw(optional_text),
        code=Code(code_number=draw(text), code_notation=draw(text)),
        promulgation_info=PromulgationInfo(place=draw(optional_text),
                                           promulgation_date=draw(past_date)),
        document_type=DocumentType(type=draw(st.integers(0, 65535)),
                                   type_detail=draw(st.none() | small),
                                   type_name=draw(optional_text)),
        subject=draw(nonempty),
        content=draw(optional_text),
        signer_info=draw(st.none() | st.builds(SignerInfo, competence=optional_text,
                                               position=optional_text, full_name=optional_text)),
        due_date=draw(st.none() | a_date),
        other_info=draw(
            st.none()
            | st.builds(
                OtherInfo,
                priority=st.none() | st.integers(0, 4),
                sphere_of_promulgation=optional_text,
                typer_notation=optional_text,
                promulgation_amount=st.none() | small,
                page_amount=st.none() | small,
                direction=st.none() | st.booleans(),
                appendixes=st.none() | st.lists(text, max_size=2),
                extras=st.just([]),
            )
        ),
        response_for=draw(st.lists(response_for, max_size=2)),
        steering_type=draw(st.none() | st.integers(0, 3)),
        to_places=draw(st.none() | st.lists(text, max_size=2)),
    )
    return DocumentPackage(
        header=header, trace=draw(trace), references=references, attachments=files
    )


status_packages = st.builds(
    StatusPackage,
    sender=organization,
    response_for=response_for,
    status_code=st.sampled_from(["01", "02", "03", "04", "05", "06", "13", "15", "16"]),
    timestamp=timestamp,
    staff_info=st.none() | staff_info,
    description=optional_text,
    extras=st.just([]),
)
