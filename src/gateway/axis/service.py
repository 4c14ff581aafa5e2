"""The VXP operations mapped onto the one core: packages, deliveries, timeline, registry.

A VXP `systemid` is an agency system of the registry that has a VXP credential (its secret
sealed with gateway.secretbox). It sends only as its bound agencies (`from`) and reads only
their received lists — exactly the rules of the native API. docIds are opaque and stable:
sendEdoc answers the package id; every received-list item, getEdoc, updateStatus and
downloadEdoc use the delivery id (one copy per recipient).

Never commits: the request (or the CLI) owns the transaction.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..auth.service import Principal, peer_is_trusted
from ..db import begin_write, show_time, utcnow
from ..delivery.repository import DeliveryRepository
from ..errors import BadRequest, Conflict, Forbidden, GatewayError, NotFound, ValidationFailed
from ..packages.models import Delivery, Package
from ..packages.service import PackageService, status_label
from ..registry.models import Agency
from ..registry.schemas import AGENCY_CODE_PATTERN, AgencyIn
from ..registry.service import RegistryService
from ..secretbox import SecretBox
from .models import ReceiptReport, VxpCredential
from .repository import AxisRepository
from .vxp_auth import AuthCode, VerifiedRequest, VxpAuthError, match_hash_file, verify_request

MESSAGE_TYPES = {"edoc": "document", "status": "status"}
STATE_DESC = {
    "pending": "Chờ cơ quan nhận tải về",
    "delivered": "Cơ quan nhận đã tải về, chưa xác nhận",
    "acknowledged": "Cơ quan nhận đã xác nhận (done)",
    "failed": "Gửi không thành công",
    "cancelled": "Đã thu hồi",
}


# ------------------------------------------------------------------------------- errors


class HashFileMismatch(GatewayError):
    status_code = 400
    code = "HASH_FILE_MISMATCH"
    default_message = "Giá trị hash-file không khớp với nội dung gói tin"
    description = "XroadVnpt-hash-file is missing or is not the SHA-256 of the body"


class MessageTypeMismatch(GatewayError):
    status_code = 400
    code = "MESSAGE_TYPE_MISMATCH"
    default_message = "messagetype không khớp với loại gói tin"
    description = "messagetype says edoc but the package is a status package, or the reverse"


class Duplicate(GatewayError):
    status_code = 409
    code = "DUPLICATE"
    default_message = "Gói tin trùng định danh với gói đã nhận nhưng nội dung khác"
    description = "Same From/DocumentId/BussinessDocType as an earlier package, other content"


class VxpAdminRequired(GatewayError):
    status_code = 403
    code = "VXP_ADMIN_REQUIRED"
    default_message = (
        "Chỉ hệ thống được quản trị viên đánh dấu là hệ thống quản trị mới được thực hiện "
        "thao tác này"
    )
    description = "registerAgency/deleteAgency need a system an operator marked as admin"


class UnknownOperation(GatewayError):
    status_code = 404
    code = "UNKNOWN_OPERATION"
    default_message = "Thao tác không được hỗ trợ"
    description = "Not a VXP operation served by this gateway"


AUTH_STATUS: dict[AuthCode, int] = {
    AuthCode.MISSING_HEADERS: 401,
    AuthCode.UNKNOWN_SYSTEM: 401,
    AuthCode.BAD_SIGNATURE: 401,
    AuthCode.STALE_TIMESTAMP: 401,
    AuthCode.HEADER_MISMATCH: 401,
    AuthCode.MALFORMED: 400,
    AuthCode.SOURCE_NOT_ALLOWED: 403,
}


# ------------------------------------------------------------------------ authentication


@dataclass(frozen=True)
class VxpCaller:
    principal: Principal
    request: VerifiedRequest
    admin: bool = False  # may call the administrative operations (operator policy)
    source: str | None = None  # the peer address the request came from

    def require_admin(self) -> None:
        if not self.admin:
            raise VxpAdminRequired()

    def get(self, key: str, default: str | None = None) -> str | None:
        """A signed logical header; the exact spelling an operation uses wins over leaked twins."""
        return self.request.get(key, default, exact_first=True)

    def doc_id(self) -> str:
        # getEdoc/downloadEdoc use docId, updateStatus docid: either is accepted; when both were
        # signed (the SDK leaks keys between calls), the caller passes the preferred spelling
        value = self.get("docId") or self.get("docid")
        if not value:
            raise BadRequest("Thiếu docId")
        return value.strip()


async def authenticate(
    session: AsyncSession,
    box: SecretBox,
    headers: Any,
    *,
    now: datetime,
    max_skew: timedelta | None = None,
    source: str | None = None,
) -> VxpCaller:
    """Verify the XroadVnpt-* HMAC (gateway.axis.vxp_auth) and load the calling system.

    The timestamp's age is checked only where an operator opted in: the system's own
    `max_skew_seconds`, else `max_skew` (the gateway setting), else never. A system with
    `allowed_sources` is refused from any other peer address.
    """
    repo = AxisRepository(session)
    claimed: list[str] = []

    def probe(system_id: str) -> None:
        claimed.append(system_id)
        return None

    # first pass: the rules of vxp_auth find the claimed systemid (and stop there)
    try:
        verify_request(headers, probe, now=now)
    except VxpAuthError as exc:
        if exc.code is not AuthCode.UNKNOWN_SYSTEM or not claimed:
            raise
    system_id = claimed[0]
    credential = await repo.credential_by_vxp_id(system_id)
    secret = box.open(credential.secret_sealed) if credential and credential.active else None
    if credential is not None and credential.max_skew_seconds:
        max_skew = timedelta(seconds=credential.max_skew_seconds)
    verified = verify_request(headers, {system_id: secret}.get, now=now, max_skew=max_skew)
    if credential is None:  # unreachable: verify_request found no secret
        raise VxpAuthError(AuthCode.UNKNOWN_SYSTEM, f"Mã hệ thống không được đăng ký: {system_id}")
    system = await repo.system(credential.system_id)
    if system is None or not system.active:
        raise VxpAuthError(AuthCode.UNKNOWN_SYSTEM, f"Hệ thống {system_id} đã bị khóa")
    if credential.allowed_sources and not peer_is_trusted(source, credential.allowed_sources):
        raise VxpAuthError(
            AuthCode.SOURCE_NOT_ALLOWED,
            f"Hệ thống {system_id} không được gọi từ địa chỉ {source or '(không rõ)'}",
        )
    principal = Principal("system", system.id, system.name, agencies=frozenset(system.agency_codes))
    return VxpCaller(principal, verified, admin=credential.admin, source=source)


def _networks(values: list[str]) -> list[str]:
    """Normalised networks of an allow-list; ValidationFailed for anything else."""
    networks = []
    for value in values:
        try:
            networks.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise ValidationFailed(
                f"Địa chỉ nguồn không hợp lệ (IP hoặc mạng CIDR): {value}",
                details={"allowed_sources": value},
            ) from None
    return list(dict.fromkeys(networks))


UNSET: Any = object()
MAX_SKEW_LIMIT = 7 * 24 * 3600  # a window longer than a week protects nothing


async def set_policy(
    session: AsyncSession,
    system_ref: str,
    actor: str,
    *,
    admin: bool | None = None,
    max_skew_seconds: float | None = UNSET,
    allowed_sources: list[str] | None = UNSET,
) -> VxpCredential:
    """Change the operator policy of a system's VXP credential (only the arguments given)."""
    system = await RegistryService(session, actor).get_system(system_ref)
    credential = await AxisRepository(session).credential_of_system(system.id)
    if credential is None:
        raise NotFound("Hệ thống chưa có khóa VXP")
    if admin is not None:
        credential.admin = admin
    if max_skew_seconds is not UNSET:
        credential.max_skew_seconds = max_skew_seconds
    if allowed_sources is not UNSET:
        credential.allowed_sources = _networks(allowed_sources) if allowed_sources else None
    await session.flush()
    await AuditLog(session).append(
        "vxp_policy.changed",
        actor=actor,
        subject=f"system:{system.id}",
        data=policy_of(credential),
    )
    return credential


def policy_of(credential: VxpCredential) -> dict[str, Any]:
    return {
        "vxp_system_id": credential.vxp_system_id,
        "admin": bool(credential.admin),
        "max_skew_seconds": credential.max_skew_seconds,
        "allowed_sources": list(credential.allowed_sources or []),
    }


async def issue_credential(
    session: AsyncSession, box: SecretBox, system_ref: str, vxp_system_id: str | None, actor: str
) -> tuple[VxpCredential, str]:
    """Create or rotate the VXP secret of a system; the secret is returned only this once."""
    registry = RegistryService(session, actor)
    system = await registry.get_system(system_ref)
    repo = AxisRepository(session)
    credential = await repo.credential_of_system(system.id)
    wanted = (vxp_system_id or (credential.vxp_system_id if credential else "")).strip()
    if not wanted:
        codes = system.agency_codes
        if len(codes) != 1:
            raise ValidationFailed("Cần vxp_system_id (hệ thống gắn với nhiều cơ quan)")
        wanted = codes[0]
    other = await repo.credential_by_vxp_id(wanted)
    if other is not None and other.system_id != system.id:
        raise Conflict(f"Mã hệ thống VXP {wanted} đã được cấp cho hệ thống khác")
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    if credential is None:
        credential = VxpCredential(
            system_id=system.id,
            vxp_system_id=wanted,
            secret_sealed=box.seal(secret),
            active=True,
            created_at=now,
        )
        repo.add(credential)
        action = "vxp_secret.created"
    else:
        credential.vxp_system_id = wanted
        credential.secret_sealed = box.seal(secret)
        credential.active = True
        credential.rotated_at = now
        action = "vxp_secret.rotated"
    await session.flush()
    await AuditLog(session).append(
        action,
        actor=actor,
        subject=f"system:{system.id}",
        data={"vxp_system_id": wanted},
    )
    return credential, secret


async def revoke_credential(session: AsyncSession, system_ref: str, actor: str) -> VxpCredential:
    system = await RegistryService(session, actor).get_system(system_ref)
    credential = await AxisRepository(session).credential_of_system(system.id)
    if credential is None:
        raise NotFound("Hệ thống chưa có khóa VXP")
    credential.active = False
    await session.flush()
    await AuditLog(session).append(
        "vxp_secret.revoked",
        actor=actor,
        subject=f"system:{system.id}",
        data={"vxp_system_id": credential.vxp_system_id},
    )
    return credential


# ---------------------------------------------------------------------------- operations


def _time(value: datetime | None) -> str:
    return show_time(value) if value else ""


class VxpService:
    """One instance per request; `packages` is the same PackageService the native API uses."""

    PAGE: ClassVar[int] = 1000

    def __init__(self, session: AsyncSession, packages: PackageService, *, node_code: str):
        self.session = session
        self.packages = packages
        self.repo = AxisRepository(session)
        self.node_code = node_code

    def _message_kind(self, caller: VxpCaller, default: str | None = None) -> str:
        value = (caller.get("messagetype") or default or "").strip().lower()
        if value not in MESSAGE_TYPES:
            raise BadRequest("messagetype phải là edoc hoặc status")
        return MESSAGE_TYPES[value]

    async def _begin(self) -> None:
        # SQLite: take the process's write turn before the first statement (gateway.db)
        await begin_write(self.session)

    def _agencies(self, caller: VxpCaller) -> frozenset[str]:
        if not caller.principal.agencies:
            raise Forbidden("Hệ thống chưa được gắn với cơ quan nào")
        return caller.principal.agencies

    # --- sendEdoc ---------------------------------------------------------------------
    async def send_edoc(self, caller: VxpCaller, body: bytes) -> dict[str, Any]:
        kind = self._message_kind(caller)
        declared = caller.get("hash-file")
        if not declared:
            raise HashFileMismatch("Thiếu XroadVnpt-hash-file (mã băm của gói tin)")
        data = match_hash_file(body, declared)
        if data is None:
            raise HashFileMismatch()
        principal = caller.principal
        sender = (caller.get("from") or "").strip()
        if sender:
            if not principal.acts_for(sender):
                raise Forbidden(
                    f"Hệ thống không được gửi thay cơ quan {sender}",
                    details={"from": sender, "allowed": sorted(principal.agencies)},
                )
            # the package's From must be the `from` the caller signed
            principal = Principal(
                principal.kind, principal.id, principal.name, agencies=frozenset({sender})
            )
        result = await self.packages.intake(data, principal)
        if result.kind != kind:
            raise MessageTypeMismatch(
                f"messagetype là {caller.get('messagetype')} nhưng gói tin là "
                + ("gói văn bản" if result.kind == "document" else "gói trạng thái")
            )
        if result.duplicate and not result.same_content:
            raise Duplicate(details={"DocId": result.package_id})
        to = _parse_to(caller.get("to"))
        if to:
            recipients = {d.addressed_to for d in result.deliveries} | {
                d.recipient for d in result.deliveries
            }
            extra = [code for code in to if code not in recipients]
            if extra:
                raise ValidationFailed(
                    "Tiêu đề to có mã không phải nơi nhận trong gói tin: " + ", ".join(extra)
                )
        desc = "Gói tin đã được nhận trước đó" if result.duplicate else "Gửi thành công"
        return {"ErrorDesc": desc, "DocId": result.package_id}

    # --- received ---------------------------------------------------------------------
    async def received_list(self, caller: VxpCaller) -> dict[str, Any]:
        await self._begin()
        kind = self._message_kind(caller)
        rows = await self.repo.open_deliveries(self._agencies(caller), kind, limit=self.PAGE)
        return {"data": [self._received_item(d, p) for d, p in rows]}

    def _received_item(self, d: Delivery, p: Package) -> dict[str, Any]:
        return {
            "docId": d.id,
            "serviceType": "eDoc",
            "messageType": "edoc" if d.kind == "document" else "status",
            "created_time": _time(d.queued_at),
            "updated_time": _time(d.updated_at),
            "from": p.sender_code,
            "to": d.addressed_to or d.recipient_code,
            "status": d.state,
            "status_desc": STATE_DESC.get(d.state, d.state),
            "title": p.subject or "",
            "notation": p.code or "",
            "documentId": p.document_id or "",
            "statusCode": p.status_code or "",
        }

    async def count(self, caller: VxpCaller, kind: str) -> dict[str, Any]:
        await self._begin()
        return {"count": await self.repo.count_open(self._agencies(caller), kind)}

    async def _my_delivery(self, caller: VxpCaller, doc_id: str) -> Delivery:
        delivery = await self.session.get(Delivery, doc_id)
        if (
            delivery is None
            or not caller.principal.acts_for(delivery.recipient_code)
            or delivery.state == "cancelled"
        ):
            raise NotFound(f"Không có văn bản {doc_id} cho hệ thống này")
        return delivery

    async def _bytes(self, caller: VxpCaller) -> bytes:
        await self._begin()
        delivery = await self._my_delivery(caller, caller.doc_id())
        fetched = await self.packages.fetch(delivery.package_id, caller.principal, via="vxp")
        return fetched.data

    async def get_edoc(self, caller: VxpCaller) -> dict[str, Any]:
        data = await self._bytes(caller)
        return {"data": base64.b64encode(data).decode("ascii")}

    async def download(self, caller: VxpCaller) -> bytes:
        return await self._bytes(caller)

    async def update_status(self, caller: VxpCaller) -> dict[str, Any]:
        # updateStatus signs `docid` (lowercase) in the SDK; a leaked `docId` may sit beside it
        doc_id = (caller.get("docid") or caller.get("docId") or "").strip()
        if not doc_id:
            raise BadRequest("Thiếu docid")
        status = (caller.get("status") or "").strip().lower()
        if status not in ("done", "fail", "processing"):
            raise BadRequest("status phải là done, fail hoặc processing")
        await begin_write(self.session)
        delivery = await self._my_delivery(caller, doc_id)
        now = self.packages.clock()
        self.repo.add(
            ReceiptReport(
                delivery_id=delivery.id, system_id=caller.principal.id, status=status, at=now
            )
        )
        if status == "done":
            result = await self.packages.acknowledge(delivery.id, caller.principal)
            desc = "Đã xác nhận trước đó" if result.already_acknowledged else "Đã xác nhận"
            return {"ErrorDesc": desc}
        if status == "fail":
            delivery.last_error = "Hệ thống nhận báo tiếp nhận không thành công (updateStatus fail)"
        delivery.updated_at = now
        await AuditLog(self.session).append(
            f"delivery.receipt_{status}",
            actor=caller.principal.actor,
            subject=f"delivery:{delivery.id}",
            at=now,
            data={"package_id": delivery.package_id, "recipient": delivery.recipient_code},
        )
        return {"ErrorDesc": "Đã ghi nhận trạng thái " + status}

    # --- sent -------------------------------------------------------------------------------
    async def sent_list(self, caller: VxpCaller) -> dict[str, Any]:
        await self._begin()
        kind = self._message_kind(caller, default="edoc")
        agencies = self._agencies(caller)
        # docId narrows the list to one sent package; any other value is ignored: the SDK's
        # header map leaks the docId of an earlier getEdoc/updateStatus into this call
        package_id = (caller.get("docId") or "").strip() or None
        if package_id:
            package = await self.session.get(Package, package_id)
            if package is None or package.sender_code not in agencies:
                package_id = None
        rows = await self.repo.sent(agencies, kind, package_id=package_id, limit=self.PAGE)
        forwards = await DeliveryRepository(self.session).forwards_for([d.id for _, d in rows])
        data = []
        for p, d in rows:
            forward = forwards.get(d.id)
            data.append(
                {
                    "serviceType": "eDoc",
                    "messageType": "edoc" if p.kind == "document" else "status",
                    "senderDocId": p.id,
                    "receiverDocId": d.id,
                    "fromCode": p.sender_code,
                    "toCode": d.addressed_to or d.recipient_code,
                    "title": p.subject or "",
                    "notation": p.code or "",
                    "sentTime": _time(p.received_at),
                    "receivedTime": _time(d.delivered_at),
                    "sendStatus": "done",
                    "sendStatusDesc": "Trục đã nhận gói tin",
                    "receiveStatus": d.state,
                    "receiveStatusDesc": STATE_DESC.get(d.state, d.state),
                    "statusCode": p.status_code or "",
                    "statusDesc": status_label(p.status_code) if p.status_code else "",
                    "upstreamDocId": forward.upstream_doc_id if forward else None,
                }
            )
        return {"data": data}

    # --- registry ------------------------------------------------------------------------------
    async def agencies_list(self) -> dict[str, Any]:
        await self._begin()
        agencies = await self.repo.agencies()
        return {
            "data": [
                {
                    "id": a.code,
                    "pid": a.parent_code or "",
                    "code": a.code,
                    "name": a.name,
                    "mail": "",
                    "oldCode": "",
                }
                for a in agencies
            ]
        }

    async def agencies_qd20(self, caller: VxpCaller) -> dict[str, Any]:
        await self._begin()
        level_text = (caller.get("level") or "").strip()
        level = int(level_text) if level_text.isdigit() else None
        agencies = await self.repo.agencies(level=level)
        return {
            "data": [
                {
                    "id": a.code,
                    "pid": a.parent_code or "",
                    "code": a.code,
                    "code102": a.code,
                    "name": a.name,
                    "level": a.level,
                    "mail": "",
                }
                for a in agencies
            ]
        }

    async def synchronize_unit(self) -> dict[str, Any]:
        await self._begin()
        agencies = await self.repo.all_agencies()
        return {
            "data": [
                {
                    "id": a.code,
                    "pid": a.parent_code or "",
                    "code": a.code,
                    "name": a.name,
                    "mail": "",
                    "centerCode": self.node_code,
                    "version": int(a.updated_at.timestamp() * 1000),
                    "deleted": not a.active,
                    "modifyDate": _time(a.updated_at),
                    "isAgency": True,
                }
                for a in agencies
            ]
        }

    async def _audit_admin(
        self, caller: VxpCaller, operation: str, agency: str, result: str, body: bytes = b""
    ) -> None:
        """Who did what through an administrative operation: the signed request as received."""
        await AuditLog(self.session).append(
            "vxp.admin_operation",
            actor=caller.principal.actor,
            subject=f"agency:{agency}",
            at=self.packages.clock(),
            data={
                "operation": operation,
                "agency": agency,
                "result": result,
                "system_id": caller.principal.id,
                "vxp_system_id": caller.request.system_id,
                "source": caller.source,
                "signed_timestamp": caller.get("timestamp"),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            },
        )

    async def register_agency(self, caller: VxpCaller, body: bytes) -> dict[str, Any]:
        """A system registers a unit under one of its agencies; the new unit is bound to it.

        Only admin systems: the VXP signature covers the headers, not this body.
        """
        caller.require_admin()
        try:
            doc = json.loads(body.decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("Nội dung registerAgency phải là JSON") from None
        if not isinstance(doc, dict):
            raise BadRequest("Nội dung registerAgency phải là một đối tượng JSON")
        code = str(doc.get("code") or "").strip()
        name = str(doc.get("name") or "").strip()
        parent = str(doc.get("pcode") or "").strip() or None
        missing = [
            k for k, v in (("code", code), ("name", name), ("mail", doc.get("mail"))) if not v
        ]
        if missing:
            raise ValidationFailed("Thiếu trường bắt buộc: " + ", ".join(missing))
        principal = caller.principal
        if parent is None or not principal.acts_for(parent):
            raise Forbidden(
                "Chỉ đăng ký được đơn vị trực thuộc cơ quan của hệ thống (pcode)",
                details={"pcode": parent, "allowed": sorted(principal.agencies)},
            )
        await begin_write(self.session)
        registry = RegistryService(self.session, principal.actor)
        system = await registry.get_system(principal.id)
        existing = await registry.agencies.get(code)
        if existing is not None:
            if code in system.agency_codes:
                await self._audit_admin(caller, "registerAgency", code, "already", body)
                return {"ErrorDesc": "Đơn vị đã được đăng ký trước đó"}
            raise Conflict(f"Cơ quan mã {code} đã có trong danh bạ")
        try:
            agency_in = AgencyIn(code=code, name=name, parent_code=parent)
        except ValueError as exc:
            raise ValidationFailed(
                f"Mã cơ quan không hợp lệ ({AGENCY_CODE_PATTERN}): {code}"
            ) from exc
        agency = await registry.create_agency(agency_in)
        system.agencies = [*system.agencies, agency]
        await self.session.flush()
        await self._audit_admin(caller, "registerAgency", code, "registered", body)
        return {"ErrorDesc": "Đăng ký thành công"}

    async def delete_agency(self, caller: VxpCaller) -> dict[str, Any]:
        """Deactivate (never delete) one of the caller's agencies. Only admin systems."""
        caller.require_admin()
        code = (caller.get("AgencyCode") or "").strip()
        if not code:
            raise BadRequest("Thiếu AgencyCode")
        principal = caller.principal
        if not principal.acts_for(code):
            raise Forbidden(f"Hệ thống không quản lý cơ quan {code}")
        await begin_write(self.session)
        agency = await self.session.get(Agency, code)
        if agency is None:
            raise NotFound(f"Không có cơ quan mã {code}")
        was_active = agency.active
        if was_active:
            from ..registry.schemas import AgencyPatch

            await RegistryService(self.session, principal.actor).update_agency(
                code, AgencyPatch(active=False)
            )
        await self._audit_admin(
            caller, "deleteAgency", code, "deactivated" if was_active else "already"
        )
        return {"ErrorDesc": "Đã ngừng hoạt động cơ quan (không xóa dữ liệu)"}


def _parse_to(value: str | None) -> list[str]:
    if not value or not value.strip():
        return []
    text = value.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = [part for part in text.replace(";", ",").split(",")]
    if isinstance(parsed, str):
        parsed = [parsed]
    if not isinstance(parsed, list):
        raise BadRequest("Tiêu đề to phải là mảng JSON các mã cơ quan")
    return [str(code).strip() for code in parsed if str(code).strip()]
