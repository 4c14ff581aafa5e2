"""The metadata of a document for the provincial historical archive, in the fields of Circular
02/2019/TT-BNV (dữ liệu đặc tả văn bản, tài liệu lưu trữ điện tử), filled from the edXML
package and the gateway's records where they exist.

Every field is `{"value", "source"}`; `source` is the edXML element (or the gateway record) the
value comes from, or `null` with `value` null when edXML does not carry it (`missing` in the
result lists those, for the archive to fill in: they are decided by the agency's records
management, not by the exchange). The field list follows the Circular's annex on document
metadata as implemented by archive software; check it against the annex when the archive
publishes its ingest profile (docs/operations.md).
"""

from __future__ import annotations

from typing import Any

from ..edxml.models import MessageHeader
from ..packages.models import Package

VERSION = "TT-02-2019-BNV/1"
SIGNED = "signed-valid"

# (key, Vietnamese field name of the Circular)
FIELDS: tuple[tuple[str, str], ...] = (
    ("ma_dinh_danh_van_ban", "Mã định danh văn bản"),
    ("ma_luu_tru_tai_lieu", "Mã lưu trữ tài liệu (mã cơ quan lưu trữ, mã hồ sơ, số thứ tự)"),
    ("thoi_han_bao_quan", "Thời hạn bảo quản"),
    ("ten_loai_van_ban", "Tên loại văn bản"),
    ("so_van_ban", "Số của văn bản"),
    ("ky_hieu_van_ban", "Ký hiệu của văn bản"),
    ("ngay_thang_nam_van_ban", "Ngày, tháng, năm văn bản"),
    ("co_quan_ban_hanh", "Tên cơ quan, tổ chức ban hành văn bản"),
    ("trich_yeu_noi_dung", "Trích yếu nội dung"),
    ("ngon_ngu", "Ngôn ngữ"),
    ("so_luong_trang", "Số lượng trang"),
    ("ky_hieu_thong_tin", "Ký hiệu thông tin"),
    ("tu_khoa", "Từ khóa"),
    ("che_do_su_dung", "Chế độ sử dụng"),
    ("muc_do_tin_cay", "Mức độ tin cậy"),
    ("but_tich", "Bút tích"),
    ("tinh_trang_vat_ly", "Tình trạng vật lý"),
    ("ghi_chu", "Ghi chú"),
    ("chuc_vu_nguoi_ky", "Chức vụ, thẩm quyền người ký"),
    ("ho_ten_nguoi_ky", "Họ tên người ký"),
)

WHY_MISSING = {
    "ma_luu_tru_tai_lieu": (
        "gán khi lập hồ sơ và nộp lưu (mã hồ sơ, số thứ tự) — không có trong edXML"
    ),
    "thoi_han_bao_quan": "theo bảng thời hạn bảo quản của cơ quan — không có trong edXML",
    "ngon_ngu": "edXML không ghi ngôn ngữ của văn bản",
    "ky_hieu_thong_tin": "do lưu trữ biên mục — không có trong edXML",
    "tu_khoa": "do lưu trữ biên mục — không có trong edXML",
    "che_do_su_dung": "do cơ quan quyết định khi nộp lưu — không có trong edXML",
    "muc_do_tin_cay": "bản chính / bản sao do cơ quan xác định — edXML không ghi",
    "tinh_trang_vat_ly": "dành cho tài liệu giấy số hóa; văn bản điện tử gốc không có",
    "ghi_chu": "không có trong edXML",
}


def _field(value: Any, source: str | None) -> dict[str, Any]:
    if value in (None, ""):
        return {"value": None, "source": None}
    return {"value": value, "source": source}


def circular_02_metadata(package: Package, header: MessageHeader | None) -> dict[str, Any]:
    """The Circular 02/2019/TT-BNV record of one document package (see the module doc)."""
    signer = header.signer_info if header else None
    other = header.other_info if header else None
    position = None
    if signer is not None:
        position = " ".join(p for p in (signer.competence, signer.position) if p) or None
    values: dict[str, dict[str, Any]] = {
        "ma_dinh_danh_van_ban": _field(package.document_id, "edXML MessageHeader/DocumentId"),
        "ten_loai_van_ban": _field(
            package.document_type or (header.document_type.type_name if header else None),
            "edXML MessageHeader/DocumentType/TypeName",
        ),
        "so_van_ban": _field(
            header.code.code_number if header else None, "edXML MessageHeader/Code/CodeNumber"
        ),
        "ky_hieu_van_ban": _field(
            header.code.code_notation if header else None, "edXML MessageHeader/Code/CodeNotation"
        ),
        "ngay_thang_nam_van_ban": _field(
            package.promulgation_date, "edXML MessageHeader/PromulgationInfo/PromulgationDate"
        ),
        "co_quan_ban_hanh": _field(
            header.sender.organ_name if header else None, "edXML MessageHeader/From/OrganName"
        ),
        "trich_yeu_noi_dung": _field(package.subject, "edXML MessageHeader/Subject"),
        "so_luong_trang": _field(
            other.page_amount if other else None, "edXML MessageHeader/OtherInfo/PageAmount"
        ),
        "but_tich": _field(
            "Có chữ ký số (hợp lệ)" if package.signature_class == SIGNED else None,
            "gateway: signature verification at intake (signature_class signed-valid)",
        ),
        "chuc_vu_nguoi_ky": _field(position, "edXML MessageHeader/SignerInfo/Competence, Position"),
        "ho_ten_nguoi_ky": _field(
            signer.full_name if signer else None, "edXML MessageHeader/SignerInfo/FullName"
        ),
    }
    fields = {}
    missing = []
    for key, name in FIELDS:
        entry = values.get(key, {"value": None, "source": None})
        entry = {"name": name, **entry}
        if entry["value"] is None:
            entry["why_missing"] = WHY_MISSING.get(key, "không có trong gói tin edXML này")
            missing.append(key)
        fields[key] = entry
    return {"standard": "Thông tư 02/2019/TT-BNV", "profile": VERSION, "fields": fields,
            "missing": missing}  # fmt: skip
