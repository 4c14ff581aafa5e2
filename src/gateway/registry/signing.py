"""Agency signing identities: who may sign packages for an agency (issue 13, signer = sender).

Added by operators (admin API, `gateway agencies signing-identity`, the dashboard), from a
fingerprint, subject attributes, or a certificate file (PEM/DER: each certificate becomes a
fingerprint identity). Every change is audited. `RegistrySigners` is what the intake signature
step (gateway.packages.signatures) asks for the From agency's identities.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..db import Database, ShownDateTime
from ..errors import BadRequest, Conflict, NotFound
from ..trust.binding import IdentityKind, SigningIdentity, normalize
from ..trust.certs import CertificateInfo, load_certificates
from .models import Agency, AgencySigningIdentity

MAX_CERTIFICATE_FILE = 256 * 1024


class SigningIdentityIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    kind: IdentityKind = Field(description="`fingerprint` (SHA-256 of the certificate) or "
                               "`subject` (RFC 4514 attributes the signer's subject must carry)")
    value: str = Field(min_length=3, max_length=2000,
                       examples=["O=UBND tỉnh Khánh Hòa", "AB:CD:…(32 bytes)"])
    label: str | None = Field(default=None, max_length=500)


class SigningIdentityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agency_code: str
    kind: str
    value: str
    label: str | None
    not_after: ShownDateTime | None
    created_at: ShownDateTime


class SigningIdentities:
    """Queries and audited changes; never commits (the request's session does)."""

    def __init__(self, session: AsyncSession, actor: str):
        self.session = session
        self.actor = actor
        self.audit = AuditLog(session)

    async def of(self, agency_code: str) -> list[AgencySigningIdentity]:
        await self._agency(agency_code)
        return await identities_of(self.session, agency_code)

    async def add(self, agency_code: str, data: SigningIdentityIn) -> AgencySigningIdentity:
        try:
            identity = normalize(data.kind, data.value)
        except ValueError as exc:
            raise BadRequest(
                f"Định danh chữ ký không hợp lệ: {exc}", details={"field": "value"}
            ) from None
        [row] = await self._add(agency_code, [(identity, data.label, None)])
        return row

    async def import_certificates(
        self, agency_code: str, data: bytes
    ) -> list[AgencySigningIdentity]:
        """Each certificate of a PEM bundle or DER file becomes a fingerprint identity."""
        if len(data) > MAX_CERTIFICATE_FILE:
            raise BadRequest("Tệp chứng thư số quá lớn")
        try:
            certificates = load_certificates(data)
        except ValueError:
            raise BadRequest("Tệp không phải chứng thư số PEM hoặc DER") from None
        entries = []
        for cert in certificates:
            info = CertificateInfo.of(cert)
            identity = SigningIdentity(IdentityKind.FINGERPRINT, info.fingerprint_sha256)
            entries.append((identity, info.subject[:500], info.not_after))
        return await self._add(agency_code, entries)

    async def remove(self, agency_code: str, identity_id: str) -> None:
        row = await self.session.get(AgencySigningIdentity, identity_id)
        if row is None or row.agency_code != agency_code:
            raise NotFound(f"Không có định danh chữ ký {identity_id} của cơ quan {agency_code}")
        await self.session.delete(row)
        await self.audit.append(
            "agency.signing_identity.removed",
            actor=self.actor,
            subject=f"agency:{agency_code}",
            data={"id": row.id, "kind": row.kind, "value": row.value},
        )

    async def _add(
        self, agency_code: str, entries: Sequence[tuple[SigningIdentity, str | None, Any]]
    ) -> list[AgencySigningIdentity]:
        await self._agency(agency_code)
        existing = {(r.kind, r.value) for r in await identities_of(self.session, agency_code)}
        rows = []
        for identity, label, not_after in entries:
            if (identity.kind.value, identity.value) in existing:
                raise Conflict(
                    "Định danh chữ ký này đã được đăng ký cho cơ quan",
                    details={"kind": identity.kind.value, "value": identity.value},
                )
            existing.add((identity.kind.value, identity.value))
            row = AgencySigningIdentity(
                agency_code=agency_code,
                kind=identity.kind.value,
                value=identity.value,
                label=label,
                not_after=not_after,
            )
            self.session.add(row)
            rows.append(row)
        await self.session.flush()
        for row in rows:
            await self.audit.append(
                "agency.signing_identity.added",
                actor=self.actor,
                subject=f"agency:{agency_code}",
                data={"id": row.id, "kind": row.kind, "value": row.value, "label": row.label},
            )
        return rows

    async def _agency(self, code: str) -> Agency:
        agency = await self.session.get(Agency, code)
        if agency is None:
            raise NotFound(f"Không có cơ quan mã {code}")
        return agency


async def identities_of(session: AsyncSession, agency_code: str) -> list[AgencySigningIdentity]:
    rows = await session.scalars(
        select(AgencySigningIdentity)
        .where(AgencySigningIdentity.agency_code == agency_code)
        .order_by(AgencySigningIdentity.created_at, AgencySigningIdentity.id)
    )
    return list(rows.all())


class RegistrySigners:
    """The From agency's identities for the intake signature step: one query per signed
    package, in its own read session (no cache, so a removal takes effect at once)."""

    def __init__(self, db: Database):
        self.db = db

    async def identities_of(self, agency_code: str) -> list[SigningIdentity]:
        async with self.db.read_session() as session:
            rows = await identities_of(session, agency_code)
        return [SigningIdentity(IdentityKind(r.kind), r.value) for r in rows]

