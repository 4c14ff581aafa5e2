"""The per-agency push secret: generated when an agency uses push, sealed with SecretBox,
shown once (on creation / rotation), read back by the workers to sign pushes."""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..db import utcnow
from ..secretbox import SecretBox
from .models import Agency


def new_push_secret() -> str:
    return "gwps_" + secrets.token_urlsafe(32)


async def rotate_push_secret(
    session: AsyncSession, agency: Agency, box: SecretBox, *, actor: str
) -> str:
    """Set a new secret on `agency` (in the caller's transaction) and return it."""
    secret = new_push_secret()
    agency.push_secret_sealed = box.seal(secret)
    agency.updated_at = utcnow()
    await session.flush()
    await AuditLog(session).append(
        "agency.push_secret_rotated", actor=actor, subject=f"agency:{agency.code}", data={}
    )
    return secret


async def ensure_push_secret(
    session: AsyncSession, agency: Agency, box: SecretBox, *, actor: str
) -> str | None:
    """A push-mode agency without a secret gets one; returns it (to show once), else None."""
    if agency.delivery_mode == "push" and not agency.push_secret_sealed:
        return await rotate_push_secret(session, agency, box, actor=actor)
    return None
