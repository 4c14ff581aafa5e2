"""`/dashboard/signers`: an agency's signing identities, for admins (issue 13, signer = sender).

The same rules and audit as the admin API (gateway.registry.signing); a certificate is pasted
as PEM. Registered on the dashboard router by importing this module from routes.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse

from ...db import SessionDep, begin_write
from ...errors import BadRequest, Conflict, NotFound
from ...registry.signing import SigningIdentities, SigningIdentityIn
from . import i18n
from .routes import CsrfField, DashboardError, Op, _with_query, check_csrf, redirect, render, router

i18n.LABELS.update(
    {
        "nav.signers": ("Chữ ký cơ quan", "Agency signers"),
        "t.document_files": ("Chữ ký trên tệp văn bản", "Document file signatures"),
        "sg.title": ("Định danh chữ ký số của cơ quan", "Agency signing identities"),
        "sg.rule": (
            "Gói tin ký số của cơ quan chỉ hợp lệ khi chứng thư ký khớp một định danh dưới đây "
            "(mã SIGNER_NOT_SENDER nếu không khớp). Cơ quan chưa có định danh: bị từ chối khi "
            "chính sách là require (SIGNER_UNBOUND), chỉ có giá trị tham khảo khi là warn.",
            "A signed package of the agency is valid only when its signer matches one identity "
            "below (SIGNER_NOT_SENDER otherwise). With none recorded: refused under `require` "
            "(SIGNER_UNBOUND), reference only under `warn`.",
        ),
        "sg.agency": ("Mã cơ quan", "Agency code"),
        "sg.show": ("Xem", "Show"),
        "sg.kind": ("Loại", "Kind"),
        "sg.value": ("Giá trị", "Value"),
        "sg.label": ("Ghi chú", "Label"),
        "sg.not_after": ("Hết hạn", "Expires"),
        "sg.none": ("Chưa có định danh nào.", "No identity recorded."),
        "sg.add": ("Thêm định danh", "Add an identity"),
        "sg.pem": ("hoặc dán chứng thư số (PEM)", "or paste a certificate (PEM)"),
        "sg.remove": ("Xóa", "Remove"),
        "sg.confirm_remove": ("Xóa định danh này?", "Remove this identity?"),
        "sg.kind.fingerprint": ("Dấu vân tay SHA-256", "SHA-256 fingerprint"),
        "sg.kind.subject": ("Thuộc tính chủ thể (O=…, CN=…)", "Subject attributes (O=…, CN=…)"),
        "flash.sg_added": ("Đã thêm định danh chữ ký.", "Signing identity added."),
        "flash.sg_removed": ("Đã xóa định danh chữ ký.", "Signing identity removed."),
        "flash.sg_bad": ("Định danh không hợp lệ.", "Not a valid identity."),
        "flash.sg_conflict": ("Định danh đã có.", "That identity is already recorded."),
        "flash.sg_unknown": ("Không có cơ quan này.", "No such agency."),
    }
)
FLASHES = {
    "sg_added": "ok",
    "sg_removed": "ok",
    "sg_bad": "error",
    "sg_conflict": "error",
    "sg_unknown": "error",
}


def _admin(op: Op) -> None:
    if not op.is_admin:
        raise DashboardError("flash.admin_only", 403)


@router.get("/signers", response_class=HTMLResponse)
async def signers(request: Request, session: SessionDep, op: Op, agency: str = ""):
    _admin(op)
    code = agency.strip()
    rows, unknown = [], False
    if code:
        try:
            rows = await SigningIdentities(session, op.actor).of(code)
        except NotFound:
            unknown = True
    flash = request.query_params.get("flash")
    return render(
        request,
        "signers.html",
        op,
        section="signers",
        agency=code,
        rows=rows,
        unknown=unknown,
        sg_flash=flash if flash in FLASHES else None,
        sg_flash_kind=FLASHES.get(flash or "", ""),
    )


@router.post("/signers")
async def add_signer(
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    agency: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "fingerprint",
    value: Annotated[str, Form()] = "",
    pem: Annotated[str, Form()] = "",
    label: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    _admin(op)
    code = agency.strip()
    await begin_write(session)
    service = SigningIdentities(session, op.actor)
    try:
        if pem.strip():
            await service.import_certificates(code, pem.encode("utf-8"))
        else:
            data = SigningIdentityIn(kind=kind, value=value, label=label.strip() or None)
            await service.add(code, data)
    except NotFound:
        return _back(code, "sg_unknown")
    except Conflict:
        return _back(code, "sg_conflict")
    except (BadRequest, ValueError):
        return _back(code, "sg_bad")
    return _back(code, "sg_added")


@router.post("/signers/{identity_id}/remove")
async def remove_signer(
    identity_id: str,
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    agency: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    _admin(op)
    await begin_write(session)
    try:
        await SigningIdentities(session, op.actor).remove(agency.strip(), identity_id)
    except NotFound:
        return _back(agency, "sg_unknown")
    return _back(agency, "sg_removed")


def _back(agency: str, flash: str):
    return redirect(_with_query("/dashboard/signers", agency=agency.strip(), flash=flash))
