"""HTTP (admins' API keys): operator accounts.

`GET /api/v1/admin/operators`, `POST /api/v1/admin/operators` (create; the API key is shown
once), `PATCH /api/v1/admin/operators/{name}` (active, role), `POST
/api/v1/admin/operators/{name}/password` (reset). Rules and audit: gateway.ops.accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, SecretStr

from ..auth.dependencies import AdminOperator
from ..db import SessionDep
from ..errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed, responses
from ..registry.service import RegistryService
from .accounts import Account, OperatorAccounts

router = APIRouter(prefix="/admin/operators", tags=["admin"])
AUTH = (Unauthenticated, Forbidden, ValidationFailed)


class OperatorOut(BaseModel):
    id: str
    username: str
    role: Literal["operator", "admin"]
    active: bool
    has_password: bool
    totp: bool = Field(description="dashboard logins need an authenticator code")
    api_keys: int = Field(description="live (not revoked) API keys")
    created_at: datetime


class OperatorIn(BaseModel):
    username: str = Field(min_length=1, max_length=100, pattern=r"^[\w.@-]+$")
    role: Literal["operator", "admin"] = "operator"
    password: SecretStr | None = Field(
        default=None, description="for the dashboard: at least 12 characters, not common"
    )


class OperatorCreated(BaseModel):
    operator: OperatorOut
    api_key: str = Field(description="Shown only once: store it now.")


class OperatorChange(BaseModel):
    active: bool | None = None
    role: Literal["operator", "admin"] | None = None
    reason: str = Field(default="", max_length=500, description="why (audited)")


class PasswordReset(BaseModel):
    password: SecretStr = Field(description="at least 12 characters, not common")
    reason: str = Field(default="", max_length=500, description="why (audited)")


def _accounts(request: Request, session: SessionDep, op: AdminOperator) -> OperatorAccounts:
    return OperatorAccounts(session, op.actor, clock=request.app.state.clock)


async def _one(accounts: OperatorAccounts, username: str) -> OperatorOut:
    found = [a for a in await accounts.list() if a.username == username]
    if not found:
        raise NotFound(f"Không có tài khoản vận hành {username}", en=f"No operator {username}")
    return _out(found[0])


def _out(account: Account) -> OperatorOut:
    return OperatorOut.model_validate(account, from_attributes=True)


@router.get("", response_model=list[OperatorOut], responses=responses(*AUTH))
async def list_operators(request: Request, session: SessionDep, op: AdminOperator):
    """Every operator account, by user name."""
    return [_out(a) for a in await _accounts(request, session, op).list()]


@router.post(
    "",
    status_code=201,
    response_model=OperatorCreated,
    responses=responses(*AUTH, Conflict),
)
async def create_operator(
    body: OperatorIn, request: Request, session: SessionDep, op: AdminOperator
):
    """A new operator account and its first API key (shown once)."""
    password = body.password.get_secret_value() if body.password else None
    created, key = await RegistryService(session, op.actor).create_operator(
        body.username, body.role, password
    )
    await session.flush()
    accounts = _accounts(request, session, op)
    return OperatorCreated(operator=await _one(accounts, created.username), api_key=key)


@router.patch(
    "/{username}", response_model=OperatorOut, responses=responses(*AUTH, NotFound, Conflict)
)
async def change_operator(
    username: str, body: OperatorChange, request: Request, session: SessionDep, op: AdminOperator
):
    """Disable or enable an account (its keys and sessions stop or work again at once), or
    change its role. The last active admin can be neither disabled nor demoted."""
    accounts = _accounts(request, session, op)
    if body.role is not None:
        await accounts.set_role(username, body.role, reason=body.reason)
    if body.active is not None:
        await accounts.set_active(username, body.active, reason=body.reason)
    return await _one(accounts, (await accounts.get(username)).username)


@router.post(
    "/{username}/password",
    response_model=OperatorOut,
    responses=responses(*AUTH, NotFound),
)
async def reset_password(
    username: str, body: PasswordReset, request: Request, session: SessionDep, op: AdminOperator
):
    """Set a new dashboard password (policy: at least 12 characters, not common); ends the
    account's open dashboard sessions."""
    accounts = _accounts(request, session, op)
    changed = await accounts.reset_password(
        username, body.password.get_secret_value(), reason=body.reason
    )
    return await _one(accounts, changed.username)


class TotpEnrolled(BaseModel):
    secret: str = Field(description="base32 TOTP secret, shown only once")
    uri: str = Field(description="otpauth:// URI for an authenticator app (or its QR code)")


@router.post(
    "/{username}/totp",
    status_code=201,
    response_model=TotpEnrolled,
    responses=responses(*AUTH, NotFound),
)
async def enable_totp(username: str, request: Request, session: SessionDep, op: AdminOperator):
    """Require an authenticator code (TOTP, RFC 6238) at the account's dashboard logins; a
    new call replaces the secret."""
    from ..auth.totp import provisioning_uri

    box = request.app.state.settings.secret_box()
    secret = await _accounts(request, session, op).enable_totp(username, box)
    return TotpEnrolled(secret=secret, uri=provisioning_uri(secret, username))


@router.delete("/{username}/totp", response_model=OperatorOut, responses=responses(*AUTH, NotFound))
async def disable_totp(username: str, request: Request, session: SessionDep, op: AdminOperator):
    """Dashboard logins of the account need the password only again."""
    accounts = _accounts(request, session, op)
    changed = await accounts.disable_totp(username)
    return await _one(accounts, changed.username)
