"""Attachment access: unwrap the SDK's zip without copying the payload around."""

from __future__ import annotations

import io
import zipfile

from gateway.edxml import open_attachment, parse_package, real_file_name
from gateway.edxml.attachments import inspect_zip, is_sdk_wrapped
from gateway.edxml.models import Attachment
from support.samples import sample_bytes


def test_sample_attachment_is_an_sdk_zip_holding_one_file() -> None:
    attachment = parse_package(sample_bytes("edoc_new.edxml")).attachments[0]
    assert is_sdk_wrapped(attachment)
    with open_attachment(attachment) as stream:
        content = stream.read()
    inner = zipfile.ZipFile(io.BytesIO(attachment.data)).infolist()[0]
    assert len(content) == inner.file_size
    assert real_file_name(attachment) == "1896_QD-TTg_m_294779.doc"
    assert inspect_zip(attachment.data, "/x") == []


def test_plain_payload_is_returned_as_is() -> None:
    attachment = Attachment(content_id="cid:1", data=b"%PDF-1.7 hello", attachment_name="a.pdf")
    assert not is_sdk_wrapped(attachment)
    assert open_attachment(attachment).read() == b"%PDF-1.7 hello"
    assert len(attachment.sha256) == 64


def test_a_real_zip_attachment_is_not_unwrapped() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "x")
    attachment = Attachment(content_id="1", data=buffer.getvalue(), attachment_name="bundle.zip")
    assert not is_sdk_wrapped(attachment)
    assert open_attachment(attachment).read() == buffer.getvalue()


def test_unsafe_entry_names_warn() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../etc/passwd", "x")
    [finding] = inspect_zip(buffer.getvalue(), "/x")
    assert finding.code == "ZIP_ENTRY_NAME_UNSAFE"


def test_name_falls_back_to_the_zip_entry() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("dir/report.pdf", "x")
    attachment = Attachment(content_id="1", data=buffer.getvalue())
    assert real_file_name(attachment) == "report.pdf"
