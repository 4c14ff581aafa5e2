"""Business rules the XSD cannot express. Each rule lives here once, with its finding code."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import date

from .attachments import (
    ExpansionBudget,
    inspect_zip,
    is_sdk_wrapped,
    is_zip,
    open_attachment,
    real_file_name,
    unsafe_name_reason,
)
from .codes import BusinessDocType, StatusCode
from .codes import FindingCode as C
from .errors import Finding, error, warning
from .exclusions import find_exclusions
from .filetypes import DANGEROUS_EXTENSIONS, Verdict, detect, extension, judge
from .limits import Limits
from .models import (
    Attachment,
    DocumentPackage,
    Organization,
    Package,
    StatusPackage,
    content_key,
)
from .timefmt import parse_date, parse_timestamp

ORGAN_ID_2016 = re.compile(r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$")
ORGAN_ID_QD20 = re.compile(r"^[0-9A-Z]+(?:\.[0-9A-Z]+)*$")
ORGAN_ID_MAX = 35
_ORGAN_ID_SEEN_IN_WILD = re.compile(r"^[0-9A-Za-z._\-]+$")

HEADER = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
TRACE = "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList"
MANIFEST = "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest"
ATTACHMENTS = "/edXML/AttachmentEncoded"


def check(package: Package, *, today: date, limits: Limits) -> list[Finding]:
    if isinstance(package, StatusPackage):
        return list(_status_rules(package))
    return list(_document_rules(package, today, limits))


def _indexed(base: str, name: str, index: int, count: int) -> str:
    return f"{base}/{name}[{index + 1}]" if count > 1 else f"{base}/{name}"


# ---- agency codes -----------------------------------------------------------------------------
def check_organ_id(value: str | None, path: str) -> Finding | None:
    """2016 form `ddd.dd.dd.Ldd` and QĐ 20/2020 form (≤35 of [0-9A-Z.]) are valid; other
    shapes seen in the wild (lowercase, `_`, `-`) only warn; anything else is an error."""
    value = value or ""
    if ORGAN_ID_2016.match(value):
        return None
    if len(value) <= ORGAN_ID_MAX and ORGAN_ID_QD20.match(value):
        return None
    if 0 < len(value) <= ORGAN_ID_MAX and _ORGAN_ID_SEEN_IN_WILD.match(value):
        return warning(
            C.ORGAN_ID_NONSTANDARD,
            f"Mã định danh {value!r} không theo dạng QCVN 102:2016 hay QĐ 20/2020.",
            path,
        )
    return error(C.ORGAN_ID_INVALID, f"Mã định danh cơ quan không hợp lệ: {value!r}.", path)


def _organization_ids(base: str, orgs: list[Organization], name: str) -> Iterator[Finding]:
    for i, org in enumerate(orgs):
        finding = check_organ_id(org.organ_id, _indexed(base, name, i, len(orgs)) + "/OrganId")
        if finding:
            yield finding


# ---- dates ------------------------------------------------------------------------------------
def _date(text: str | None, path: str, *, today: date | None, required: bool) -> Iterator[Finding]:
    if not text:
        if required:
            yield error(C.DATE_INVALID, "Thiếu ngày.", path)
        return
    try:
        value, day_first = parse_date(text)
    except ValueError:
        yield error(C.DATE_INVALID, f"Ngày không hợp lệ: {text!r} (định dạng yyyy/MM/dd).", path)
        return
    if day_first:
        yield warning(
            C.DATE_DAY_FIRST, f"Ngày {text!r} viết dạng dd/MM/yyyy; chuẩn là yyyy/MM/dd.", path
        )
    if today is not None and value > today:
        yield error(C.DATE_IN_FUTURE, f"Ngày ban hành {text!r} ở tương lai.", path)


def _timestamp(text: str | None, path: str) -> Iterator[Finding]:
    try:
        parse_timestamp(text or "")
    except ValueError:
        yield error(
            C.TIMESTAMP_INVALID,
            f"Thời điểm không hợp lệ: {text!r} (định dạng yyyy/MM/dd HH:mm:ss).",
            path,
        )


# ---- document packages ------------------------------------------------------------------------
def _document_rules(package: DocumentPackage, today: date, limits: Limits) -> Iterator[Finding]:
    header = package.header
    yield from _organization_ids(HEADER, [header.sender], "From")
    yield from _organization_ids(HEADER, header.recipients, "To")
    seen: set[str] = set()
    for i, recipient in enumerate(header.recipients):
        if recipient.organ_id in seen:
            yield error(
                C.RECIPIENT_DUPLICATE,
                f"Nơi nhận {recipient.organ_id} lặp lại.",
                _indexed(HEADER, "To", i, len(header.recipients)) + "/OrganId",
            )
        seen.add(recipient.organ_id)
    if not header.subject.strip():
        yield error(
            C.ELEMENT_MISSING, "Trích yếu (Subject) không được để trống.", f"{HEADER}/Subject"
        )
    yield from _date(
        header.promulgation_info.promulgation_date,
        f"{HEADER}/PromulgationInfo/PromulgationDate",
        today=today,
        required=True,
    )
    yield from _date(header.due_date, f"{HEADER}/DueDate", today=None, required=False)
    for i, trace in enumerate(package.trace.trace_headers):
        path = _indexed(TRACE, "TraceHeader", i, len(package.trace.trace_headers))
        yield from _timestamp(trace.timestamp, f"{path}/Timestamp")
        finding = check_organ_id(trace.organ_id, f"{path}/OrganId")
        if finding:
            yield finding
    yield from _business_rules(package)
    yield from _manifest_rules(package, limits)
    yield from (e.finding() for e in find_exclusions(package, limits.exclusions))


def _business_rules(package: DocumentPackage) -> Iterator[Finding]:
    business = package.trace.business
    kind = package.business_type
    path = f"{TRACE}/Bussiness"
    if kind is BusinessDocType.UPDATE and (business is None or business.document_info is None):
        yield error(
            C.BUSINESS_PART_MISSING,
            "Gói tin cập nhật (BussinessDocType 2) phải có BussinessDocumentInfo.",
            f"{path}/BussinessDocumentInfo",
        )
    if kind is BusinessDocType.REPLACE and not (business and business.replacements):
        yield error(
            C.BUSINESS_PART_MISSING,
            "Gói tin thay thế (BussinessDocType 3) phải có ReplacementInfoList.",
            f"{path}/ReplacementInfoList",
        )
    if kind is not BusinessDocType.NEW and not package.referenced_document_ids:
        yield error(
            C.BUSINESS_PART_MISSING,
            "Gói tin thu hồi/cập nhật/thay thế phải nêu DocumentId của văn bản gốc.",
            f"{HEADER}/DocumentId",
        )
    if business and business.document_info and business.document_info.receivers:
        receivers = business.document_info.receivers
        for i, receiver in enumerate(receivers):
            base = _indexed(
                f"{path}/BussinessDocumentInfo/ReceiverList", "Receiver", i, len(receivers)
            )
            finding = check_organ_id(receiver.organ_id, f"{base}/OrganId")
            if finding:
                yield finding


def _manifest_rules(package: DocumentPackage, limits: Limits) -> Iterator[Finding]:
    references = package.references
    attachments = package.attachments
    by_key = Counter(content_key(a.content_id) for a in attachments)
    ref_keys = Counter(content_key(r.content_id) for r in references)
    for i, reference in enumerate(references):
        base = _indexed(MANIFEST, "Reference", i, len(references))
        yield from _attachment_name(reference.attachment_name, f"{base}/AttachmentName")
        key = content_key(reference.content_id)
        path = f"{base}/ContentId"
        if ref_keys[key] > 1:
            yield error(
                C.CONTENT_ID_DUPLICATE, f"ContentId {reference.content_id!r} lặp lại.", path
            )
        if by_key[key] == 0:
            yield error(
                C.ATTACHMENT_UNBOUND,
                f"Không có tệp đính kèm nào có ContentId {reference.content_id!r}.",
                path,
            )
        elif by_key[key] > 1:
            yield error(
                C.CONTENT_ID_DUPLICATE,
                f"Nhiều tệp đính kèm cùng ContentId {reference.content_id!r}.",
                path,
            )
    budget = ExpansionBudget(limits.max_package_expanded_bytes)
    for i, attachment in enumerate(attachments):
        path = _indexed(ATTACHMENTS, "Attachment", i, len(attachments))
        name_findings = list(
            _attachment_name(attachment.attachment_name, f"{path}/AttachmentName")
        )
        yield from name_findings
        if name_findings:
            continue  # refused by its name: its content is not opened
        if ref_keys[content_key(attachment.content_id)] == 0:
            yield warning(
                C.ATTACHMENT_UNREFERENCED,
                f"Tệp đính kèm {attachment.content_id!r} không có trong danh mục (manifest).",
                f"{path}/ContentId",
            )
        zip_findings = (
            inspect_zip(attachment.data, f"{path}/ContentTransferEncoded", limits, budget)
            if is_zip(attachment.data)
            else []
        )
        yield from zip_findings
        if not any(f.is_error for f in zip_findings):  # a broken or bomb zip is not opened
            yield from _format_rules(attachment, path, limits, budget)
        if budget.exhausted:  # refused already: inflate nothing more for this package
            return


def _attachment_name(name: str | None, path: str) -> Iterator[Finding]:
    reason = unsafe_name_reason(name) if name else None
    if reason:
        yield error(
            C.ATTACHMENT_NAME_UNSAFE, f"Tên tệp đính kèm {name!r} không hợp lệ: {reason}.", path
        )


# ---- attachment formats (gateway.edxml.filetypes) ---------------------------------------------
_MAX_ZIP_NESTING = 3
_ZIP_READ_ERRORS = (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError,
                    RuntimeError)  # fmt: skip


def _format_rules(
    attachment: Attachment, path: str, limits: Limits, package: ExpansionBudget
) -> Iterator[Finding]:
    """The real file (unwrapped from the SDK zip) is judged by its content and by the
    extension of AttachmentName; the files inside a real zip are judged the same way."""
    name = real_file_name(attachment)
    where = f"{path}/AttachmentName" if attachment.attachment_name else f"{path}/ContentId"
    if is_sdk_wrapped(attachment):
        # the SDK's entry is `<uuid>.<original extension>`: a script there is refused too
        inner = [n for n in zipfile.ZipFile(io.BytesIO(attachment.data)).namelist()
                 if not n.endswith("/")]  # fmt: skip
        if len(inner) == 1 and extension(inner[0]) in DANGEROUS_EXTENSIONS:
            yield _not_allowed(
                _shown(name, None), f"tệp bên trong là .{extension(inner[0])}", where
            )
            return
        try:
            with open_attachment(attachment) as stream:  # inspect_zip has bounded the size
                data = stream.read(package.remaining + 1)
        except _ZIP_READ_ERRORS as exc:
            yield error(C.ZIP_INVALID, f"Tệp nén đính kèm không đọc được: {exc}.", where)
            return
        if not package.spend(len(data)):
            yield package.finding(where)
            return
    else:
        data = attachment.data
    budget = [limits.max_zip_expanded_bytes]
    yield from _judge_file(name, data, where, limits, None, 0, budget, package)


def _shown(name: str, container: str | None) -> str:
    if container is None:
        return f"Tệp đính kèm '{name}'"
    return f"Tệp '{name}' trong tệp nén '{container}'"


def _not_allowed(shown: str, reason: str, path: str) -> Finding:
    return error(
        C.ATTACHMENT_FORMAT_NOT_ALLOWED,
        f"{shown} có định dạng không được phép ({reason}).",
        path,
    )


def _judge_file(
    name: str,
    data: bytes,
    path: str,
    limits: Limits,
    container: str | None,
    depth: int,
    budget: list[int],
    package: ExpansionBudget,
) -> Iterator[Finding]:
    kind = detect(data, max_zip_entries=limits.max_zip_entries)
    verdict = judge(name, kind, limits.allowed_formats)
    shown = _shown(name, container)
    if verdict.verdict is Verdict.NOT_ALLOWED:
        yield _not_allowed(shown, verdict.reason, path)
        return
    if verdict.verdict is Verdict.MISMATCH:
        yield warning(C.ATTACHMENT_TYPE_MISMATCH, f"{shown}: {verdict.reason}.", path)
    if kind == "zip":
        yield from _zip_entries(name, data, path, limits, depth, budget, package)


def _zip_entries(
    name: str,
    data: bytes,
    path: str,
    limits: Limits,
    depth: int,
    budget: list[int],
    package: ExpansionBudget,
) -> Iterator[Finding]:
    """Judge every file of a (real, not SDK-wrapping) zip; nested zips are inspected with the
    same caps, and everything read here shares one budget of expanded bytes."""
    if depth >= _MAX_ZIP_NESTING:
        yield _not_allowed(_shown(name, None), "tệp nén lồng nhau quá nhiều cấp", path)
        return
    if depth > 0:  # the attachment itself was inspected by the caller
        findings = inspect_zip(data, path, limits, package)
        yield from findings
        if any(f.is_error for f in findings):
            return
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        for entry in archive.infolist():
            if entry.is_dir():
                continue
            with archive.open(entry) as stream:
                content = stream.read(min(budget[0], package.remaining) + 1)
            if not package.spend(len(content)):
                yield package.finding(path)
                return
            budget[0] -= len(content)
            if budget[0] < 0:
                yield error(
                    C.ZIP_BOMB,
                    f"Tệp nén giải nén vượt giới hạn {limits.max_zip_expanded_bytes} byte.",
                    path,
                )
                return
            entry_name = posixpath.basename(entry.filename.replace("\\", "/"))
            yield from _judge_file(
                entry_name, content, path, limits, name, depth + 1, budget, package
            )
    except _ZIP_READ_ERRORS as exc:
        yield error(C.ZIP_INVALID, f"Tệp nén đính kèm không đọc được: {exc}.", path)


# ---- status packages --------------------------------------------------------------------------
def _status_rules(package: StatusPackage) -> Iterator[Finding]:
    yield from _organization_ids(HEADER, [package.sender], "From")
    response = package.response_for
    if not response.organ_id:
        yield error(
            C.ELEMENT_MISSING,
            "Gói tin trạng thái phải nêu cơ quan nhận (ResponseFor/OrganId).",
            f"{HEADER}/ResponseFor/OrganId",
        )
    else:
        finding = check_organ_id(response.organ_id, f"{HEADER}/ResponseFor/OrganId")
        if finding:
            yield finding
    if not response.document_id:
        yield error(
            C.ELEMENT_MISSING,
            "Gói tin trạng thái phải nêu văn bản (ResponseFor/DocumentId).",
            f"{HEADER}/ResponseFor/DocumentId",
        )
    if package.status_code not in {s.value for s in StatusCode}:
        allowed = ", ".join(s.value for s in StatusCode)
        yield error(
            C.STATUS_CODE_UNKNOWN,
            f"Mã trạng thái {package.status_code!r} không hợp lệ (cho phép: {allowed}).",
            f"{HEADER}/StatusCode",
        )
    yield from _timestamp(package.timestamp, f"{HEADER}/Timestamp")
    yield from _date(
        response.promulgation_date,
        f"{HEADER}/ResponseFor/PromulgationDate",
        today=None,
        required=False,
    )
