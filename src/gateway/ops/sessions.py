"""Operator logins for the dashboard: password check, lockout, sessions, CSRF.

- Accounts are the operators of the registry (`gateway operators create NAME --role admin
  --password`), passwords hashed with scrypt (gateway.auth.service).
- A login creates a row in `operator_sessions` and sets the cookie `gw_session` to a random
  256-bit token: HttpOnly, SameSite=Strict, Path=/dashboard, Secure on https (or when
  GATEWAY_DASHBOARD_COOKIE_SECURE=true). The database keeps only SHA-256(token).
- A session ends after GATEWAY_DASHBOARD_SESSION_HOURS (default 8 h), after
  GATEWAY_DASHBOARD_IDLE_MINUTES without a request (default 30), at logout, or when the
  operator account is deactivated.
- Every POST form carries `csrf_token`, derived from the session token (SHA-256 of a label and
  the token), so it is unknown to another site and needs no storage; the login form uses a
  double-submit cookie instead (there is no session yet).
- After GATEWAY_DASHBOARD_LOGIN_MAX_FAILURES failed logins for a user name within
  GATEWAY_DASHBOARD_LOGIN_LOCKOUT_MINUTES, further logins for that name are refused until the
  window has passed (recorded in `login_attempts`, so every replica agrees). Each attempt is
  counted, one name at a time, before its password is checked: a concurrent burst gets at
  most that many checks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import anyio.to_thread
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..auth.models import Operator
from ..auth.service import Principal, hash_password, verify_password
from ..auth.totp import accepted_step
from ..db import Database, begin_write
from ..settings import Settings
from .models import LoginAttempt, OperatorSession

COOKIE = "gw_session"
LOGIN_CSRF_COOKIE = "gw_login_csrf"
COOKIE_PATH = "/dashboard"
TOUCH_EVERY = timedelta(seconds=60)


class LoginRefused(Exception):
    def __init__(self, reason: str) -> None:  # "invalid" | "locked"
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class OperatorContext:
    """The logged-in operator of a dashboard request."""

    session_id: str
    operator_id: str
    username: str
    role: str
    csrf_token: str
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def principal(self) -> Principal:
        return Principal("operator", self.operator_id, self.username, role=self.role)

    @property
    def actor(self) -> str:
        return f"operator:{self.username}"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_for(token: str) -> str:
    return hashlib.sha256(b"gateway-dashboard-csrf\x00" + token.encode("utf-8")).hexdigest()


def same_secret(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Checked against when the user name is unknown, so both cases take the same time."""
    return hash_password(secrets.token_urlsafe(16))


class SessionStore:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self.lifetime = timedelta(hours=settings.dashboard_session_hours)
        self.idle = timedelta(minutes=settings.dashboard_idle_minutes)
        self.window = timedelta(minutes=settings.dashboard_login_lockout_minutes)
        self.max_failures = settings.dashboard_login_max_failures

    # --- login / logout -------------------------------------------------------------------
    async def login(
        self,
        db: Database,
        session: AsyncSession,
        username: str,
        password: str,
        *,
        ip: str | None,
        user_agent: str | None,
        code: str = "",
    ) -> tuple[OperatorContext, str]:
        """Check the password; on success store a new session (in `session`, the caller's
        unit of work) and return it with its token. Raises LoginRefused: "locked" (nothing
        recorded, the password not even checked) or "invalid" (the failed attempt stays
        recorded). The attempt itself is recorded in its own transaction first."""
        now = self.clock()
        username = username.strip()[:100]
        # The attempt is counted (committed) before anything is checked, one name at a time,
        # so concurrent guesses see each other: of a burst, at most `max_failures` reach the
        # password check and the rest are refused unchecked.
        attempt = await self._reserve_attempt(db, username, ip, now)
        if attempt is None:
            raise LoginRefused("locked")
        async with db.read_session() as reader:
            op = await reader.scalar(select(Operator).where(Operator.username == username))
        stored = op.password_hash if op is not None and op.active else None
        ok = await anyio.to_thread.run_sync(verify_password, password, stored or _dummy_hash())
        ok = ok and stored is not None
        step = None
        if ok and op is not None and op.totp_secret_sealed:  # second factor (gateway.auth.totp)
            secret = self.settings.secret_box().open(op.totp_secret_sealed)
            step = accepted_step(secret, code, now, op.totp_last_step)
            ok = step is not None
        if not ok or op is None:
            raise LoginRefused("invalid")  # the attempt stays counted as a failure
        await begin_write(session)
        if step is not None:  # a code works once, even if two logins race with it
            claimed = await session.execute(
                update(Operator)
                .where(
                    Operator.id == op.id,
                    or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step),
                )
                .values(totp_last_step=step)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise LoginRefused("invalid")
        await session.execute(
            update(LoginAttempt).where(LoginAttempt.id == attempt).values(ok=True)
        )
        # a success clears the name's failure count; old attempts are not kept forever
        await session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.username == username, LoginAttempt.at <= now - self.window
            )
        )
        token = new_token()
        row = OperatorSession(
            id=hash_token(token),
            operator_id=op.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.lifetime,
            ip=ip,
            user_agent=(user_agent or "")[:300] or None,
        )
        session.add(row)
        await session.execute(
            delete(LoginAttempt).where(
                LoginAttempt.username == username, LoginAttempt.ok.is_(False)
            )
        )
        await AuditLog(session).append(
            "operator.login",
            actor=f"operator:{op.username}",
            subject=f"operator:{op.id}",
            at=now,
            data={"ip": ip, "session": row.id[:12]},
        )
        # sessions that ended long ago are of no use
        await session.execute(
            delete(OperatorSession).where(OperatorSession.expires_at < now - timedelta(days=7))
        )
        ctx = OperatorContext(row.id, op.id, op.username, op.role, csrf_for(token), row.expires_at)
        return ctx, token

    async def _reserve_attempt(
        self, db: Database, username: str, ip: str | None, now: datetime
    ) -> int | None:
        """Record a (so far failed) attempt in a transaction of its own, committed at once,
        unless the name is locked (None). Attempts on one name are serialized: SQLite has one
        writer at a time; PostgreSQL takes a transaction-scoped advisory lock on the name."""
        from ..uow import write_session

        async with write_session(db) as writer:
            if db.dialect == "postgresql":
                await writer.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"gateway.login:{username}"},
                )
            failures = await writer.scalar(
                select(func.count()).where(
                    LoginAttempt.username == username,
                    LoginAttempt.ok.is_(False),
                    LoginAttempt.at > now - self.window,
                )
            )
            if int(failures or 0) >= self.max_failures:
                return None
            row = LoginAttempt(username=username, ip=ip, at=now, ok=False)
            writer.add(row)
            await writer.flush()
            return row.id

    async def logout(self, session: AsyncSession, token: str) -> None:
        await begin_write(session)
        row = await session.get(OperatorSession, hash_token(token))
        if row is None or row.revoked_at is not None:
            return
        now = self.clock()
        row.revoked_at = now
        op = await session.get(Operator, row.operator_id)
        await AuditLog(session).append(
            "operator.logout",
            actor=f"operator:{op.username if op else row.operator_id}",
            subject=f"operator:{row.operator_id}",
            at=now,
            data={"session": row.id[:12]},
        )

    # --- each request ---------------------------------------------------------------------
    async def resolve(self, db: Database, token: str | None) -> OperatorContext | None:
        """The live session of `token`, or None (unknown, expired, idle, revoked, or the
        account deactivated). Refreshes `last_seen_at` at most once a minute."""
        if not token or len(token) > 200:
            return None
        sid = hash_token(token)
        now = self.clock()
        async with db.read_session() as session:
            found = (
                await session.execute(
                    select(OperatorSession, Operator)
                    .join(Operator, Operator.id == OperatorSession.operator_id)
                    .where(OperatorSession.id == sid)
                )
            ).first()
        if found is None:
            return None
        row, op = found
        if (
            row.revoked_at is not None
            or row.expires_at <= now
            or row.last_seen_at + self.idle <= now
            or not op.active
        ):
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            from ..uow import write_session

            async with write_session(db) as session:
                live = await session.get(OperatorSession, sid)
                if live is not None:
                    live.last_seen_at = now
        return OperatorContext(sid, op.id, op.username, op.role, csrf_for(token), row.expires_at)
