"""Credentials: API keys, operator passwords, and resolving a caller to a Principal.

API keys are `gw_` + `secrets.token_urlsafe(32)`. Only SHA-256(key) is stored (a high-entropy
random token needs no slow hash) plus the first 12 characters to identify it; the presented
key's hash is compared in constant time. Operator passwords (for the dashboard, later) use
`hashlib.scrypt`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import Unauthenticated
from .models import ApiKey
from .repository import AuthRepository

KEY_PREFIX = "gw_"
PREFIX_LEN = 12


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key(
    *,
    system_id: str | None = None,
    operator_id: str | None = None,
    label: str | None = None,
    key: str | None = None,
) -> tuple[ApiKey, str]:
    """A new key row (not yet added to a session) and the key itself (shown once). `key` is
    only given for the bootstrap admin key, which comes from the deployment's secret."""
    key = key or generate_api_key()
    row = ApiKey(
        prefix=key[:PREFIX_LEN],
        key_hash=hash_api_key(key),
        system_id=system_id,
        operator_id=operator_id,
        label=label,
    )
    return row, key


# scrypt parameters: 2**14 * 8 * 128 bytes = 16 MiB of memory per hash
_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    enc = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${enc(salt).decode()}${enc(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        got = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(digest)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, digest)


@dataclass(frozen=True)
class Principal:
    """Who is calling: an agency system (bound to agencies) or an operator (with a role)."""

    kind: Literal["system", "operator"]
    id: str
    name: str
    agencies: frozenset[str] = field(default_factory=frozenset)
    role: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def is_operator(self) -> bool:
        return self.kind == "operator"

    @property
    def is_admin(self) -> bool:
        return self.kind == "operator" and self.role == "admin"

    def acts_for(self, agency_code: str) -> bool:
        return self.kind == "system" and agency_code in self.agencies


def normalise_certificate_identity(value: str) -> str:
    """Fingerprints are compared as lower-case hex without separators; DNs as given."""
    v = value.strip()
    compact = v.replace(":", "").replace(" ", "").lower()
    if len(compact) == 64 and all(c in "0123456789abcdef" for c in compact):
        return compact
    return v


def peer_is_trusted(host: str | None, trusted: list[str]) -> bool:
    if not host:
        return False
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(net, strict=False) for net in trusted)


class AuthService:
    def __init__(self, session: AsyncSession):
        self.repo = AuthRepository(session)

    async def principal_for_key(self, key: str) -> Principal:
        if not key.startswith(KEY_PREFIX) or len(key) < PREFIX_LEN + 8:
            raise Unauthenticated("Khóa API không hợp lệ", en="Invalid API key")
        presented = hash_api_key(key)
        match: ApiKey | None = None
        for row in await self.repo.active_keys_with_prefix(key[:PREFIX_LEN]):
            if hmac.compare_digest(row.key_hash, presented):
                match = row
        if match is None:
            raise Unauthenticated(
                "Khóa API không hợp lệ hoặc đã bị thu hồi", en="Invalid or revoked API key"
            )
        if match.system_id:
            return await self._system_principal(match.system_id)
        op = await self.repo.get_operator(match.operator_id or "")
        if op is None or not op.active:
            raise Unauthenticated(
                "Tài khoản vận hành đã bị khóa", en="The operator account is disabled"
            )
        return Principal("operator", op.id, op.username, role=op.role)

    async def principal_for_certificate(self, identity: str) -> Principal:
        cert = await self.repo.certificate(normalise_certificate_identity(identity))
        if cert is None:
            raise Unauthenticated(
                "Chứng thư số máy khách không được đăng ký",
                en="The client certificate is not registered",
            )
        return await self._system_principal(cert.system_id)

    async def _system_principal(self, system_id: str) -> Principal:
        system = await self.repo.get_system(system_id)
        if system is None or not system.active:
            raise Unauthenticated("Hệ thống đã bị khóa", en="The system is disabled")
        return Principal("system", system.id, system.name, agencies=frozenset(system.agency_codes))
