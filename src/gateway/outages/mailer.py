"""Sending the outage e-mails queued by gateway.outages.announce, over SMTP with STARTTLS
(aiosmtplib). Runs after each outage-monitor step; a row is claimed (pending → sending) before
it is sent, so two replicas never send the same one. A failed send goes back to pending and is
retried on the next step, up to MAX_ATTEMPTS, then stays `failed` with its error (logged)."""

from __future__ import annotations

import logging
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
from sqlalchemy import select, update

from ..db import Database, show_time
from ..registry.models import Agency
from ..settings import Settings
from ..uow import write_session
from .models import OutageEmail, OutageIncident
from .repository import OutageRepository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
LISTED_DOCUMENTS = 50


async def send_pending(db: Database, settings: Settings, *, now: datetime) -> int:
    """Send what is pending; returns how many e-mails went out."""
    if not settings.smtp_host:
        return 0
    async with db.read_session() as session:
        ids = list(
            await session.scalars(
                select(OutageEmail.id)
                .where(OutageEmail.state == "pending")
                .order_by(OutageEmail.id)
                .limit(100)
            )
        )
    sent = 0
    for email_id in ids:
        if not await _claim(db, email_id):
            continue
        try:
            message, recipients = await _compose(db, settings, email_id, now)
            if recipients:
                await _send(settings, message, recipients)
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError) as exc:
            await _settle(db, email_id, error=f"{type(exc).__name__}: {exc}")
            log.warning("outage e-mail %s not sent: %s", email_id, exc)
            continue
        await _settle(db, email_id, recipients=recipients, sent_at=now)
        sent += 1
    return sent


async def _claim(db: Database, email_id: int) -> bool:
    async with write_session(db) as session:
        result = await session.execute(
            update(OutageEmail)
            .where(OutageEmail.id == email_id, OutageEmail.state == "pending")
            .values(state="sending", attempts=OutageEmail.attempts + 1)
        )
        return result.rowcount == 1


async def _settle(
    db: Database,
    email_id: int,
    *,
    error: str | None = None,
    recipients: list[str] | None = None,
    sent_at: datetime | None = None,
) -> None:
    async with write_session(db) as session:
        email = await session.get(OutageEmail, email_id)
        if email is None:
            return
        if error is None:
            email.state, email.recipients, email.sent_at = "sent", recipients, sent_at
            email.last_error = None
        else:
            email.state = "failed" if email.attempts >= MAX_ATTEMPTS else "pending"
            email.last_error = error[:1000]


async def _compose(
    db: Database, settings: Settings, email_id: int, now: datetime
) -> tuple[EmailMessage, list[str]]:
    async with db.read_session() as session:
        email = await session.get(OutageEmail, email_id)
        assert email is not None
        incident = await session.get(OutageIncident, email.incident_id)
        assert incident is not None
        copies = await OutageRepository(session).affected(incident, incident.closed_at or now)
        codes = {incident.target} | {p.sender_code for _, p in copies}
        if incident.kind == "gateway":  # every agency with a copy held up heard nothing
            codes |= {d.recipient_code for d, _ in copies}
        agencies = {
            a.code: a for a in await session.scalars(select(Agency).where(Agency.code.in_(codes)))
        }
    recipients = list(
        dict.fromkeys(
            [*settings.outage_notify_emails]
            + [a.contact_email for _, a in sorted(agencies.items()) if a.contact_email]
        )
    )
    subject, lead = _wording(settings, incident, email.event, agencies, now)
    lines = [
        lead,
        "",
        f"Mã sự cố: {incident.id}",
        f"Lỗi gần nhất: {incident.last_error or '-'}",
        f"Số bản văn bản bị ảnh hưởng: {len(copies)}",
        "",
    ]
    for delivery, package in copies[:LISTED_DOCUMENTS]:
        sender = agencies.get(package.sender_code)
        lines.append(
            f"- {package.document_id or package.id} — gửi bởi "
            f"{sender.name if sender else package.sender_code} → {delivery.recipient_code}"
        )
    if len(copies) > LISTED_DOCUMENTS:
        lines.append(f"… và {len(copies) - LISTED_DOCUMENTS} bản khác (xem trang Sự cố).")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(now.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain="gateway.local")
    message.set_content("\n".join(lines), charset="utf-8")
    return message, recipients


def _wording(
    settings: Settings,
    incident: OutageIncident,
    event: str,
    agencies: dict[str, Agency],
    now: datetime,
) -> tuple[str, str]:
    """The subject and first paragraph, by kind of incident and event."""
    node, since = settings.node_code, show_time(incident.started_at)
    until = show_time(incident.closed_at or now)
    target = agencies.get(incident.target)
    who = f"{target.name} ({incident.target})" if target else incident.target
    if incident.kind == "gateway":
        hours = (incident.working_seconds or 0) / 3600
        return (
            f"[{node}] Trục liên thông đã ngừng hoạt động từ {since} đến {until}",
            f"Trục liên thông văn bản đã ngừng hoạt động từ {since} đến {until} "
            f"({hours:.1f} giờ làm việc) và đã hoạt động trở lại. Văn bản gửi, nhận trong thời "
            "gian này đang được xử lý tiếp; đề nghị các cơ quan kiểm tra văn bản khẩn.",
        )
    if incident.kind == "inbox":
        if event == "opened":
            return (
                f"[{node}] Cảnh báo: {who} không lấy văn bản về",
                f"Từ {since}, {who} không lấy văn bản đến trong hộp thư trên trục liên thông. "
                "Đề nghị cơ quan kiểm tra phần mềm quản lý văn bản; các cơ quan gửi chuyển văn "
                "bản khẩn bằng bản giấy theo quy định.",
            )
        return (
            f"[{node}] Đã khắc phục: {who} lấy văn bản về trở lại",
            f"{who} đã lấy văn bản về trở lại lúc {until} (không lấy văn bản từ {since}).",
        )
    if incident.kind == "upstream":
        who = "trục quốc gia (upstream)"
    if event == "opened":
        return (
            f"[{node}] Sự cố: {who} không nhận được văn bản",
            f"Từ {since}, trục liên thông không gửi được văn bản đến "
            f"{who}. Đề nghị các cơ quan chuyển văn bản khẩn bằng bản giấy theo quy định.",
        )
    return (
        f"[{node}] Đã khắc phục sự cố: {who}",
        f"Sự cố gửi văn bản đến {who} (từ {since}) đã được khắc "
        f"phục lúc {until}; văn bản tồn đọng đang được gửi lại.",
    )


async def _send(settings: Settings, message: EmailMessage, recipients: list[str]) -> None:
    context = ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    )
    await aiosmtplib.send(
        message,
        recipients=recipients,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        start_tls=settings.smtp_starttls,
        use_tls=False,
        tls_context=context,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout=settings.smtp_timeout,
    )
