"""Operator accounts after creation: list, disable/enable, change role, reset password.

One service behind the three faces (CLI `gateway operators …`, admin API
`/api/v1/admin/operators`, the dashboard's accounts page for admins). Every change is an audit
event. Rules:
- the last active admin can be neither disabled nor demoted (nobody could administer the
  gateway any more);
- a disabled account's API keys and dashboard sessions stop working at once (both are checked
  against `operators.active` on every request); a password reset ends the account's open
  dashboard sessions, so a leaked session does not outlive the reset;
- new passwords follow gateway.auth.password_policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..auth import totp
from ..auth.models import ApiKey, Operator
from ..auth.password_policy import check_password
from ..auth.service import hash_password
from ..db import begin_write, utcnow
from ..errors import Conflict, NotFound, ValidationFailed
from ..secretbox import SecretBox
from .models import OperatorSession

ROLES = ("operator", "admin")


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    role: str
    active: bool
    has_password: bool
    totp: bool
    api_keys: int
    created_at: datetime


class OperatorAccounts:
    def __init__(
        self, session: AsyncSession, actor: str, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock
        self.audit = AuditLog(session)

    async def list(self) -> list[Account]:
        keys = (
            select(ApiKey.operator_id, func.count().label("n"))
            .where(ApiKey.operator_id.is_not(None), ApiKey.revoked_at.is_(None))
            .group_by(ApiKey.operator_id)
            .subquery()
        )
        rows = await self.session.execute(
            select(Operator, func.coalesce(keys.c.n, 0))
            .outerjoin(keys, keys.c.operator_id == Operator.id)
            .order_by(Operator.username)
        )
        return [
            Account(
                id=op.id,
                username=op.username,
                role=op.role,
                active=op.active,
                has_password=op.password_hash is not None,
                totp=op.totp_secret_sealed is not None,
                api_keys=int(n),
                created_at=op.created_at,
            )
            for op, n in rows.all()
        ]

    async def get(self, name_or_id: str) -> Operator:
        op = (
            await self.session.scalars(
                select(Operator).where(
                    (Operator.username == name_or_id) | (Operator.id == name_or_id)
                )
            )
        ).first()
        if op is None:
            raise NotFound(
                f"Không có tài khoản vận hành {name_or_id}", en=f"No operator {name_or_id}"
            )
        return op

    async def set_active(self, name_or_id: str, active: bool, *, reason: str = "") -> Operator:
        await begin_write(self.session)
        op = await self.get(name_or_id)
        if op.active == active:
            return op
        if not active:
            await self._keep_an_admin(op, "disable")
        op.active = active
        if not active:
            await self._revoke_sessions(op)
        await self._record("operator.enabled" if active else "operator.disabled", op, reason=reason)
        return op

    async def set_role(self, name_or_id: str, role: str, *, reason: str = "") -> Operator:
        if role not in ROLES:
            raise ValidationFailed(
                "Vai trò phải là operator hoặc admin", en="The role must be operator or admin"
            )
        await begin_write(self.session)
        op = await self.get(name_or_id)
        if op.role == role:
            return op
        if role != "admin":
            await self._keep_an_admin(op, "demote")
        before, op.role = op.role, role
        await self._record("operator.role_changed", op, reason=reason, before=before, role=role)
        return op

    async def reset_password(self, name_or_id: str, password: str, *, reason: str = "") -> Operator:
        await begin_write(self.session)
        op = await self.get(name_or_id)
        check_password(password, username=op.username)
        op.password_hash = hash_password(password)
        ended = await self._revoke_sessions(op)
        await self._record("operator.password_reset", op, reason=reason, sessions_ended=ended)
        return op

    async def enable_totp(self, name_or_id: str, box: SecretBox, *, reason: str = "") -> str:
        """A new TOTP secret for the account's dashboard logins (replacing any earlier one);
        returns it, to be shown once (gateway.auth.totp.provisioning_uri)."""
        await begin_write(self.session)
        op = await self.get(name_or_id)
        secret = totp.new_secret()
        op.totp_secret_sealed, op.totp_last_step = box.seal(secret), None
        await self._record("operator.totp_enabled", op, reason=reason)
        return secret

    async def disable_totp(self, name_or_id: str, *, reason: str = "") -> Operator:
        await begin_write(self.session)
        op = await self.get(name_or_id)
        if op.totp_secret_sealed is not None:
            op.totp_secret_sealed, op.totp_last_step = None, None
            await self._record("operator.totp_disabled", op, reason=reason)
        return op

    # --- rules and records -------------------------------------------------------------------
    async def _keep_an_admin(self, op: Operator, what: str) -> None:
        if op.role != "admin" or not op.active:
            return
        others = await self.session.scalar(
            select(func.count())
            .select_from(Operator)
            .where(Operator.role == "admin", Operator.active.is_(True), Operator.id != op.id)
        )
        if not others:
            raise Conflict(
                f"{op.username} là quản trị viên còn hoạt động cuối cùng: không thể "
                + ("khóa" if what == "disable" else "hạ quyền"),
                en=f"{op.username} is the last active admin and cannot be "
                + ("disabled" if what == "disable" else "demoted"),
            )

    async def _revoke_sessions(self, op: Operator) -> int:
        result = await self.session.execute(
            update(OperatorSession)
            .where(OperatorSession.operator_id == op.id, OperatorSession.revoked_at.is_(None))
            .values(revoked_at=self.clock())
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _record(self, action: str, op: Operator, *, reason: str, **data: object) -> None:
        await self.session.flush()
        payload: dict[str, object] = {"username": op.username, **data}
        if reason.strip():
            payload["reason"] = reason.strip()
        await self.audit.append(
            action, actor=self.actor, subject=f"operator:{op.id}", data=payload, at=self.clock()
        )
