"""Labels of the dashboard: Vietnamese (default) and English.

The language comes from `?lang=vi|en` (which also sets the `gw_lang` cookie) or the cookie.
A key missing from a language falls back to Vietnamese, then to the key itself.
"""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("vi", "en")
DEFAULT = "vi"
COOKIE = "gw_lang"

# key: (Tiếng Việt, English)
LABELS: dict[str, tuple[str, str]] = {
    "app.title": ("Trục liên thông văn bản", "Document interchange gateway"),
    "app.node": ("Nút tỉnh", "Provincial node"),
    "nav.overview": ("Tổng quan", "Overview"),
    "nav.queues": ("Hàng đợi", "Queues"),
    "nav.dead": ("Gửi lỗi", "Dead letters"),
    "nav.search": ("Tra cứu", "Search"),
    "nav.outages": ("Sự cố", "Outages"),
    "nav.charts": ("Biểu đồ", "Charts"),
    "nav.reports": ("Báo cáo", "Reports"),
    "nav.logout": ("Đăng xuất", "Log out"),
    "lang.switch": ("English", "Tiếng Việt"),
    "role.operator": ("vận hành", "operator"),
    "role.admin": ("quản trị", "admin"),
    # login
    "login.title": ("Đăng nhập", "Log in"),
    "login.username": ("Tên đăng nhập", "User name"),
    "login.password": ("Mật khẩu", "Password"),
    "login.submit": ("Đăng nhập", "Log in"),
    "login.invalid": ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."),
    "login.locked": (
        "Đăng nhập sai quá nhiều lần; tạm khóa, vui lòng thử lại sau.",
        "Too many failed logins; locked for a while, try again later.",
    ),
    "login.expired": (
        "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại.",
        "Your session has ended; please log in again.",
    ),
    "login.csrf": (
        "Biểu mẫu đã hết hạn, vui lòng thử lại.",
        "The form expired; please try again.",
    ),
    # overview
    "ov.packages_today": ("Gói tin hôm nay", "Packages today"),
    "ov.documents": ("văn bản", "documents"),
    "ov.statuses": ("trạng thái", "statuses"),
    "ov.delivered_today": ("Đã chuyển hôm nay", "Delivered today"),
    "ov.in_flight": ("Đang chờ nhận", "In flight"),
    "ov.failed": ("Gửi lỗi", "Failed"),
    "ov.oldest": ("Chờ lâu nhất", "Oldest undelivered"),
    "ov.outbox": ("Hộp đi chưa chuyển", "Outbox not relayed"),
    "ov.backlog_priority": ("Tồn đọng theo độ khẩn", "Backlog by priority"),
    "ov.volume_14": ("Số gói tin 14 ngày qua", "Packages, last 14 days"),
    "ov.none": ("không có", "none"),
    "ov.audit_checkpoint": ("Điểm neo nhật ký kiểm toán", "Audit checkpoint"),
    "ov.audit_checkpoint_help": (
        "Lưu bản sao ở ngoài cổng; kiểm tra bằng gateway audit verify --expect",
        "Keep a copy outside the gateway; check with gateway audit verify --expect",
    ),
    "prio.0": ("Thường", "Ordinary"),
    "prio.1": ("Khẩn", "Urgent"),
    "prio.2": ("Thượng khẩn", "Very urgent"),
    "prio.3": ("Hỏa tốc", "Flash"),
    "prio.4": ("Hỏa tốc hẹn giờ", "Flash, timed"),
    # queues
    "q.title": ("Hàng đợi theo cơ quan nhận", "Queues per recipient agency"),
    "q.agency": ("Cơ quan", "Agency"),
    "q.mode": ("Hình thức", "Mode"),
    "q.pending": ("Chờ nhận", "Pending"),
    "q.failing": ("Gửi lỗi", "Failing"),
    "q.oldest": ("Chờ lâu nhất", "Oldest"),
    "q.circuit": ("Ngắt mạch", "Circuit"),
    "q.last_success": ("Nhận thành công gần nhất", "Last success"),
    "q.empty": ("Chưa có hàng đợi nào.", "No queues yet."),
    "q.resend_all": ("Gửi lại tất cả bản lỗi", "Resend all failed"),
    "mode.poll": ("nhận về (poll)", "poll"),
    "mode.push": ("đẩy (push)", "push"),
    "mode.upstream": ("trục quốc gia", "national axis"),
    "circuit.closed": ("bình thường", "closed"),
    "circuit.open": ("đang ngắt", "open"),
    "circuit.half_open": ("thử lại", "half-open"),
    "circuit.unknown": ("—", "—"),
    # dead letters
    "dl.title": ("Bản gửi lỗi (chờ xử lý)", "Dead letters (waiting for an operator)"),
    "dl.count": ("bản gửi", "deliveries"),
    "dl.recipient": ("Nơi nhận", "Recipient"),
    "dl.attempts": ("Số lần", "Attempts"),
    "dl.error": ("Lỗi gần nhất", "Last error"),
    "dl.since": ("Thời điểm", "When"),
    "dl.reason": ("Lý do", "Reason"),
    "dl.reason_ph": ("Lý do (bắt buộc)", "Reason (required)"),
    "dl.resend": ("Gửi lại", "Resend"),
    "dl.cancel": ("Hủy", "Cancel"),
    "dl.empty": ("Không có bản gửi lỗi.", "No dead letters."),
    "dl.confirm_cancel": ("Hủy hẳn bản gửi này?", "Cancel this delivery for good?"),
    "dl.confirm_bulk": (
        "Gửi lại mọi bản lỗi của cơ quan này?",
        "Resend every failed delivery to this agency?",
    ),
    "flash.resent": ("Đã đưa lại vào hàng đợi.", "Queued again."),
    "flash.cancelled": ("Đã hủy bản gửi.", "Delivery cancelled."),
    "flash.reason": ("Cần nhập lý do.", "A reason is required."),
    "flash.conflict": (
        "Không thực hiện được: trạng thái đã thay đổi.",
        "Not done: the state has changed.",
    ),
    "flash.not_found": ("Không tìm thấy.", "Not found."),
    "flash.admin_only": ("Thao tác này cần quyền quản trị.", "This needs the admin role."),
    # outages
    "o.title": ("Sự cố mất kết nối", "Outage incidents"),
    "o.rule": (
        "Sự cố được ghi nhận khi điểm nhận của cơ quan (hoặc kết nối lên trục quốc gia) lỗi "
        "liên tục quá {hours} giờ làm việc — khi các cơ quan phải chuyển sang gửi văn bản giấy. "
        "Khi kết nối trở lại, sự cố đóng và các văn bản tồn đọng được gửi lại ngay, văn bản "
        "khẩn trước. Cũng là sự cố: cơ quan nhận qua hộp thư không lấy văn bản về quá thời hạn "
        "cấu hình, và thời gian chính trục liên thông ngừng hoạt động (ghi nhận khi khởi động "
        "lại).",
        "An incident is raised when an agency's endpoint (or the link to the national axis) "
        "has been failing for more than {hours} working hours — when agencies must fall back "
        "to paper. When it recovers the incident closes and the backlog is sent again at "
        "once, urgent documents first. Incidents too: a poll-mode agency not collecting its "
        "inbox for the configured working hours, and the gateway's own downtime (recorded on "
        "restart).",
    ),
    "o.open": ("Đang diễn ra", "Open"),
    "o.closed": ("Đã kết thúc gần đây", "Recently closed"),
    "o.none_open": ("Không có sự cố nào đang diễn ra.", "No open incident."),
    "o.none_closed": ("Chưa có sự cố nào kết thúc.", "No closed incident yet."),
    "o.target": ("Cơ quan / kết nối", "Agency / link"),
    "o.upstream": ("Trục quốc gia", "National axis"),
    "o.gateway": ("Trục liên thông ngừng hoạt động", "The gateway was down"),
    "o.inbox": ("không lấy văn bản về", "not collecting its inbox"),
    "o.since": ("Lỗi từ", "Failing since"),
    "o.opened": ("Ghi nhận lúc", "Raised"),
    "o.closed_at": ("Kết thúc", "Recovered"),
    "o.working": ("Giờ làm việc", "Working hours"),
    "o.elapsed": ("Thời gian thực", "Wall-clock"),
    "o.affected": ("Văn bản bị ảnh hưởng", "Documents affected"),
    "o.incident": ("Sự cố", "Incident"),
    "o.documents": ("Văn bản bị ảnh hưởng", "Documents affected"),
    "o.no_documents": ("Không có văn bản nào bị ảnh hưởng.", "No document affected."),
    "o.state_open": ("đang diễn ra", "open"),
    "o.state_closed": ("đã kết thúc", "closed"),
    "o.banner": ("sự cố mất kết nối đang diễn ra", "open outage incident(s)"),
    # search
    "s.title": ("Tra cứu gói tin", "Find packages"),
    "s.document_id": ("Mã định danh văn bản (DocumentId)", "DocumentId"),
    "s.code": ("Số, ký hiệu", "Code / notation"),
    "s.agency": ("Mã cơ quan (gửi hoặc nhận)", "Agency code (sender or recipient)"),
    "s.from": ("Từ ngày", "From"),
    "s.to": ("Đến ngày", "To"),
    "s.status": ("Trạng thái bản gửi", "Delivery state"),
    "s.kind": ("Loại", "Kind"),
    "s.any": ("(tất cả)", "(any)"),
    "s.submit": ("Tìm", "Search"),
    "s.results": ("Kết quả", "Results"),
    "s.none": ("Không có gói tin phù hợp.", "No matching package."),
    "s.more": ("Trang sau", "Next page"),
    "s.prev": ("Trang trước", "Previous page"),
    "kind.document": ("văn bản", "document"),
    "kind.status": ("trạng thái", "status"),
    "col.received": ("Nhận lúc", "Received"),
    "col.sender": ("Nơi gửi", "Sender"),
    "col.subject": ("Trích yếu", "Subject"),
    "col.code": ("Số, ký hiệu", "Code"),
    "col.recipients": ("Nơi nhận", "Recipients"),
    "col.signature": ("Chữ ký số", "Signature"),
    "col.state": ("Trạng thái", "State"),
    "state.pending": ("chờ nhận", "pending"),
    "state.delivered": ("đã nhận", "delivered"),
    "state.acknowledged": ("đã xác nhận", "acknowledged"),
    "state.failed": ("lỗi", "failed"),
    "state.cancelled": ("đã hủy", "cancelled"),
    # timeline
    "t.title": ("Diễn biến gói tin", "Package timeline"),
    "t.package": ("Gói tin", "Package"),
    "t.priority": ("Độ khẩn", "Priority"),
    "t.business": ("Nghiệp vụ", "Business type"),
    "t.legal": (
        "Thời điểm nhận hợp lệ (tính từ lúc trục tiếp nhận)",
        "Legal receipt time (from the gateway's acceptance)",
    ),
    "t.entered": ("Vào hệ thống nơi nhận", "Entered recipient's system"),
    "t.entered_legal": ("Nhận hợp lệ tại nơi nhận", "Legal receipt at the recipient"),
    "via.push": ("đẩy, máy chủ trả 2xx", "push, endpoint 2xx"),
    "via.fetch": ("tải lần đầu", "first fetch"),
    "via.vxp": ("tải qua VXP", "VXP getEdoc"),
    "via.ack": ("xác nhận", "acknowledged"),
    "t.size": ("Kích thước", "Size"),
    "t.paper": ("Kèm bản giấy", "Paper copy"),
    "t.request_id": ("Mã yêu cầu", "Request id"),
    "t.queued": ("Xếp hàng", "Queued"),
    "t.sent": ("Gửi", "Sent"),
    "t.delivered": ("Đã nhận", "Delivered"),
    "t.acknowledged": ("Xác nhận", "Acknowledged"),
    "t.cancelled": ("Hủy", "Cancelled"),
    "t.statuses": ("Trạng thái nghiệp vụ", "Business statuses"),
    "t.audit": ("Nhật ký kiểm toán", "Audit trail"),
    "t.actor": ("Người/hệ thống", "Actor"),
    "t.action": ("Sự kiện", "Event"),
    "t.details": ("Chi tiết", "Details"),
    "t.related": ("Văn bản liên quan", "Related documents"),
    "t.receipt": ("Biên nhận có ký số", "Signed receipt"),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
    "unknown": ("không rõ", "unknown"),
    # charts
    "c.title": ("Biểu đồ", "Charts"),
    "c.days": ("Số ngày", "Days"),
    "c.volume": ("Số gói tin mỗi ngày", "Packages per day"),
    "c.latency": (
        "Thời gian chuyển (xếp hàng → đã nhận), phân vị p50/p90/p99",
        "Delivery latency (queued → delivered), p50/p90/p99",
    ),
    "c.signed": ("Tỷ lệ văn bản có chữ ký số hợp lệ", "Share of validly signed documents"),
    "c.signed_legend": ("có ký số hợp lệ", "signed (valid)"),
    "c.unsigned_legend": ("không ký / chưa hợp lệ", "unsigned / not valid"),
    "c.seconds": ("giây", "seconds"),
    "c.minutes": ("phút", "minutes"),
    "c.overall": ("Cả kỳ", "Whole period"),
    "c.no_data": ("Chưa có số liệu.", "No data yet."),
    # reports
    "r.title": ("Báo cáo gửi, nhận văn bản điện tử", "Electronic document exchange report"),
    "r.month": ("Tháng", "Month"),
    "r.show": ("Xem", "Show"),
    "r.csv": ("Tải CSV", "Download CSV"),
    "r.print": ("In", "Print"),
    "r.agency": ("Cơ quan", "Agency"),
    "r.sent": ("Gửi", "Sent"),
    "r.received": ("Nhận", "Received"),
    "r.signed": ("Có ký số", "Signed"),
    "r.unsigned": ("Không ký số", "Unsigned"),
    "r.on_time": ("Đúng hạn", "On time"),
    "r.late": ("Trễ hạn", "Late"),
    "r.timing_unknown": ("Không rõ", "Unknown"),
    "r.paper": ("Kèm bản giấy", "With paper copy"),
    "r.total": ("Tổng cộng", "Total"),
    "r.rule": (
        "Đúng hạn: văn bản được gửi lên trục chậm nhất vào cuối buổi sáng của ngày làm việc "
        "tiếp theo sau ngày ban hành. Có ký số: chữ ký số hợp lệ (signed-valid).",
        "On time: sent to the gateway no later than the end of the morning office period of "
        "the next working day after the promulgation date. Signed: a valid digital signature "
        "(signed-valid).",
    ),
    "r.basis": (
        "Gửi: tính theo thời điểm trục tiếp nhận gói tin. Nhận: tính theo thời điểm văn bản "
        "vào hệ thống của cơ quan nhận (đẩy: máy chủ nhận trả lời 2xx; kéo: lần tải đầu tiên). "
        "Thời gian đến hoàn thành: từ lúc trục tiếp nhận văn bản đến thời điểm trạng thái 06, "
        "tính theo đồng hồ và theo giờ làm việc (không tính đêm, ngày nghỉ, ngày lễ).",
        "Sent: counted by when the gateway accepted the package. Received: counted by when the "
        "document entered the recipient's system (push: the endpoint's 2xx; poll: the first "
        "fetch). Time to done: from the gateway's receipt of the document to the time of the 06 "
        "status, wall-clock and in working hours (nights, days off and holidays not counted).",
    ),
    "r.generated": ("Lập lúc", "Generated"),
    # errors
    "e.forbidden": ("Không có quyền", "Forbidden"),
    "e.not_found": ("Không tìm thấy", "Not found"),
    "e.back": ("Quay lại", "Back"),
}


def pick(value: str | None) -> str | None:
    return value if value in LANGS else None


def translator(lang: str) -> Callable[[str], str]:
    index = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str) -> str:
        pair = LABELS.get(key)
        if pair is None:
            return key
        return pair[index] or pair[0]

    return t
