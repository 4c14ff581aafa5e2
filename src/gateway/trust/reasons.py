"""Stable reason codes for signature findings, each with its Vietnamese message.

Clients and reports switch on the code; never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ReasonCode(StrEnum):
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    SIGNATURE_MALFORMED = "SIGNATURE_MALFORMED"
    SIGNATURE_DIGEST_MISMATCH = "SIGNATURE_DIGEST_MISMATCH"
    SIGNATURE_WRAPPING = "SIGNATURE_WRAPPING"
    SIGNATURE_ALGORITHM = "SIGNATURE_ALGORITHM"
    SIGNATURE_REQUIRED = "SIGNATURE_REQUIRED"
    CERT_MISSING = "CERT_MISSING"
    CERT_MALFORMED = "CERT_MALFORMED"
    CERT_EXPIRED = "CERT_EXPIRED"
    CERT_NOT_YET_VALID = "CERT_NOT_YET_VALID"
    CERT_UNTRUSTED = "CERT_UNTRUSTED"
    CERT_REVOKED = "CERT_REVOKED"
    CERT_KEY_USAGE = "CERT_KEY_USAGE"
    TRUST_NOT_CONFIGURED = "TRUST_NOT_CONFIGURED"
    SIGNER_NOT_SENDER = "SIGNER_NOT_SENDER"
    SIGNER_UNBOUND = "SIGNER_UNBOUND"
    XML_DOCTYPE_FORBIDDEN = "XML_DOCTYPE_FORBIDDEN"
    XML_MALFORMED = "XML_MALFORMED"
    XML_ENCODING = "XML_ENCODING"
    VERIFICATION_ERROR = "VERIFICATION_ERROR"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    ReasonCode.SIGNATURE_INVALID: (
        "Chữ ký số không hợp lệ: giá trị chữ ký không khớp với khóa công khai."
    ),
    ReasonCode.SIGNATURE_MALFORMED: "Khối chữ ký số sai cấu trúc XMLDSig.",
    ReasonCode.SIGNATURE_DIGEST_MISMATCH: "Nội dung gói tin đã bị thay đổi sau khi ký.",
    ReasonCode.SIGNATURE_WRAPPING: (
        "Chữ ký số không bao trùm toàn bộ gói tin hoặc nằm sai vị trí (nghi tấn công bọc chữ ký)."
    ),
    ReasonCode.SIGNATURE_ALGORITHM: "Thuật toán ký hoặc băm không được chấp nhận.",
    ReasonCode.SIGNATURE_REQUIRED: "Gói tin phải được ký số hợp lệ theo quy định của đơn vị nhận.",
    ReasonCode.CERT_MISSING: "Chữ ký số không kèm chứng thư số (X509Certificate).",
    ReasonCode.CERT_MALFORMED: "Chứng thư số kèm theo chữ ký không đọc được.",
    ReasonCode.CERT_EXPIRED: "Chứng thư số đã hết hạn tại thời điểm tiếp nhận.",
    ReasonCode.CERT_NOT_YET_VALID: "Chứng thư số chưa có hiệu lực tại thời điểm tiếp nhận.",
    ReasonCode.CERT_UNTRUSTED: "Chứng thư số không được cấp bởi tổ chức chứng thực tin cậy.",
    ReasonCode.CERT_REVOKED: "Chứng thư số đã bị thu hồi.",
    ReasonCode.CERT_KEY_USAGE: "Chứng thư số không được phép dùng để ký số văn bản.",
    ReasonCode.TRUST_NOT_CONFIGURED: (
        "Hệ thống chưa cấu hình danh sách chứng thư gốc tin cậy nên không thể xác thực chữ ký."
    ),
    ReasonCode.SIGNER_NOT_SENDER: (
        "Chứng thư số ký gói tin không thuộc cơ quan gửi (From) theo danh bạ chữ ký của trục."
    ),
    ReasonCode.SIGNER_UNBOUND: (
        "Cơ quan gửi chưa đăng ký chứng thư số ký văn bản với trục nên không xác định được "
        "người ký là cơ quan gửi."
    ),
    ReasonCode.XML_DOCTYPE_FORBIDDEN: (
        "Gói tin chứa khai báo DOCTYPE/thực thể, không được chấp nhận."
    ),
    ReasonCode.XML_MALFORMED: "Gói tin không phải XML hợp lệ.",
    ReasonCode.XML_ENCODING: "Gói tin phải được mã hóa UTF-8.",
    ReasonCode.VERIFICATION_ERROR: "Không xác thực được chữ ký số do lỗi không xác định.",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a signature is not valid: stable `code`, Vietnamese `message`, technical `detail`."""

    code: ReasonCode
    message: str
    detail: str | None = None

    @classmethod
    def of(cls, code: ReasonCode | str, detail: str | None = None) -> Reason:
        code = ReasonCode(code)
        return cls(code=code, message=code.message, detail=detail)
