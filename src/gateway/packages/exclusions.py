"""Refusing a document the rules keep off the network (gateway.edxml.exclusions): 422
DOCUMENT_EXCLUDED naming the rule, field and element, and an audit event that outlives the
refusal (the request's own transaction is rolled back, so the event is written in its own)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..auth.service import Principal
from ..edxml import DocumentPackage, FindingCode
from ..edxml.exclusions import ExclusionRule, find_exclusions
from ..edxml.validate import ValidationReport
from ..errors import GatewayError
from ..uow import write_session


class DocumentExcluded(GatewayError):
    status_code = 422
    code = "DOCUMENT_EXCLUDED"
    default_message = (
        "Văn bản thuộc loại không được gửi qua trục liên thông (văn bản mật, đơn khiếu nại, tố cáo)"
    )
    description = (
        "The document's metadata marks it secret or otherwise excluded from the network "
        "(details: rule, field, path, value)"
    )


async def refuse_excluded(
    session: AsyncSession,
    report: ValidationReport,
    raw: bytes,
    principal: Principal,
    now: datetime,
    rules: tuple[ExclusionRule, ...],
) -> NoReturn:
    """Audit (when the caller may send for the package's From) and raise DocumentExcluded."""
    package = report.package
    assert isinstance(package, DocumentPackage)  # exclusions are only checked on documents
    sender = package.sender_id
    lines = {f.path: f.line for f in report.errors if f.code == FindingCode.DOCUMENT_EXCLUDED}
    found = find_exclusions(package, rules)
    matches = [
        {
            "rule": e.rule,
            "field": e.field,
            "path": e.path,
            "line": lines.get(e.path),
            "value": e.value,
        }
        for e in found
    ]
    first = matches[0]
    details: dict[str, Any] = {**first, "matches": matches}
    message = f"{found[0].reason}: {first['field']} là {first['value']!r}"
    if sender and principal.kind == "system" and principal.acts_for(sender):
        await _audit(session, package, raw, principal, now, details)
    raise DocumentExcluded(
        message, findings=[f.as_dict() for f in report.findings], details=details
    )


async def _audit(
    session: AsyncSession,
    package: DocumentPackage,
    raw: bytes,
    principal: Principal,
    now: datetime,
    details: dict[str, Any],
) -> None:
    data = {
        "from": package.sender_id,
        "document_id": package.document_id,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "size": len(raw),
        **details,
    }
    db = session.info.get("db")
    if db is None or session.info.get("write_locked"):
        # no separate unit of work here (a CLI or the connector's own): record in the caller's
        await AuditLog(session).append(
            "package.excluded", actor=principal.actor, subject=None, at=now, data=data
        )
        return
    async with write_session(db) as own:
        await AuditLog(own).append(
            "package.excluded", actor=principal.actor, subject=None, at=now, data=data
        )
