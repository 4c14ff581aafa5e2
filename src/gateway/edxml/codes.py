"""Code tables of QCVN 102:2016 and the stable codes of validation findings."""

from __future__ import annotations

from enum import IntEnum, StrEnum

NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
XMLDSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"


class BusinessDocType(IntEnum):
    """Trace/Bussiness/BussinessDocType: what the package does to a document."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3

    @property
    def label(self) -> str:
        return _BUSINESS_LABELS[self]


_BUSINESS_LABELS = {
    BusinessDocType.NEW: "Văn bản điện tử mới",
    BusinessDocType.REVOKE: "Thu hồi văn bản điện tử",
    BusinessDocType.UPDATE: "Cập nhật văn bản điện tử",
    BusinessDocType.REPLACE: "Văn bản thay thế",
}


class Priority(IntEnum):
    """OtherInfo/Priority (độ khẩn). Anything above ORDINARY overtakes ordinary documents."""

    ORDINARY = 0
    URGENT = 1
    VERY_URGENT = 2
    FLASH = 3
    FLASH_SCHEDULED = 4

    @property
    def label(self) -> str:
        return _PRIORITY_LABELS[self]


_PRIORITY_LABELS = {
    Priority.ORDINARY: "Thường",
    Priority.URGENT: "Khẩn",
    Priority.VERY_URGENT: "Thượng khẩn",
    Priority.FLASH: "Hỏa tốc",
    Priority.FLASH_SCHEDULED: "Hỏa tốc hẹn giờ",
}


class StatusCode(StrEnum):
    """MessageHeader/StatusCode of a status package (business status of a received document)."""

    ARRIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    DONE = "06"
    TAKE_BACK = "13"  # sent by the ORIGINAL SENDER to a recipient
    AGREE = "15"
    REFUSE_REQUEST = "16"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    @property
    def sent_by_original_sender(self) -> bool:
        return self is StatusCode.TAKE_BACK


_STATUS_LABELS = {
    StatusCode.ARRIVED: "Đã đến",
    StatusCode.REFUSED: "Từ chối tiếp nhận",
    StatusCode.ACCEPTED: "Đã tiếp nhận",
    StatusCode.ASSIGNED: "Phân công xử lý",
    StatusCode.IN_PROGRESS: "Đang xử lý",
    StatusCode.DONE: "Hoàn thành",
    StatusCode.TAKE_BACK: "Lấy lại",
    StatusCode.AGREE: "Đồng ý yêu cầu cập nhật, lấy lại",
    StatusCode.REFUSE_REQUEST: "Từ chối yêu cầu cập nhật, lấy lại",
}


class FindingCode(StrEnum):
    """Stable codes of validation findings. Clients may switch on these; never rename one."""

    # well-formedness and transport of the XML itself
    PACKAGE_TOO_LARGE = "PACKAGE_TOO_LARGE"
    XML_EMPTY = "XML_EMPTY"
    XML_JUNK_BEFORE_PROLOG = "XML_JUNK_BEFORE_PROLOG"
    XML_LEADING_WHITESPACE = "XML_LEADING_WHITESPACE"
    XML_ENCODING = "XML_ENCODING"
    XML_DOCTYPE_FORBIDDEN = "XML_DOCTYPE_FORBIDDEN"
    XML_TOO_DEEP = "XML_TOO_DEEP"
    XML_MALFORMED = "XML_MALFORMED"
    XML_WRONG_NAMESPACE = "XML_WRONG_NAMESPACE"
    # structure (XSD) and cardinality
    SCHEMA_INVALID = "SCHEMA_INVALID"
    ELEMENT_MISSING = "ELEMENT_MISSING"
    ELEMENT_REPEATED = "ELEMENT_REPEATED"
    # a structural element (MessageHeader, Attachment, ...) outside its one place
    ELEMENT_MISPLACED = "ELEMENT_MISPLACED"
    # business rules
    ORGAN_ID_INVALID = "ORGAN_ID_INVALID"
    ORGAN_ID_NONSTANDARD = "ORGAN_ID_NONSTANDARD"
    RECIPIENT_DUPLICATE = "RECIPIENT_DUPLICATE"
    RECIPIENTS_TOO_MANY = "RECIPIENTS_TOO_MANY"
    DATE_INVALID = "DATE_INVALID"
    DATE_IN_FUTURE = "DATE_IN_FUTURE"
    DATE_DAY_FIRST = "DATE_DAY_FIRST"
    TIMESTAMP_INVALID = "TIMESTAMP_INVALID"
    STATUS_CODE_UNKNOWN = "STATUS_CODE_UNKNOWN"
    BUSINESS_PART_MISSING = "BUSINESS_PART_MISSING"
    TEXT_NORMALIZED = "TEXT_NORMALIZED"
    # manifest and attachments
    ATTACHMENT_UNBOUND = "ATTACHMENT_UNBOUND"
    ATTACHMENT_UNREFERENCED = "ATTACHMENT_UNREFERENCED"
    CONTENT_ID_DUPLICATE = "CONTENT_ID_DUPLICATE"
    BASE64_INVALID = "BASE64_INVALID"
    ATTACHMENT_TOO_LARGE = "ATTACHMENT_TOO_LARGE"
    ZIP_INVALID = "ZIP_INVALID"
    ZIP_BOMB = "ZIP_BOMB"
    ZIP_ENTRY_NAME_UNSAFE = "ZIP_ENTRY_NAME_UNSAFE"
    # AttachmentName with a path (/, \\, ..) or control characters
    ATTACHMENT_NAME_UNSAFE = "ATTACHMENT_NAME_UNSAFE"
    # attachment formats (gateway.edxml.filetypes): refused, or content and name disagree
    ATTACHMENT_FORMAT_NOT_ALLOWED = "ATTACHMENT_FORMAT_NOT_ALLOWED"
    ATTACHMENT_TYPE_MISMATCH = "ATTACHMENT_TYPE_MISMATCH"
    # documents kept off the network: secret, complaints (gateway.edxml.exclusions)
    DOCUMENT_EXCLUDED = "DOCUMENT_EXCLUDED"
    # status order, warnings only (gateway.packages.status_rules)
    STATUS_STEP_SKIPPED = "STATUS_STEP_SKIPPED"
    STATUS_DOCUMENT_UNKNOWN = "STATUS_DOCUMENT_UNKNOWN"
