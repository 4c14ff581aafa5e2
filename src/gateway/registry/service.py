"""Rules of the registry: agencies, succession (merged units), systems and their credentials.

Never commits: the caller (request dependency or CLI command) owns the transaction.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..audit.service import AuditLog
from ..auth.models import ApiKey, ClientCertificate, Operator
from ..auth.password_policy import check_password
from ..auth.repository import AuthRepository
from ..auth.service import hash_password, new_api_key, normalise_certificate_identity
from ..csv_out import unsafe_cell
from ..db import utcnow
from ..errors import (
    BadRequest,
    Conflict,
    NotFound,
    RecipientInactive,
    RecipientUnknown,
    ValidationFailed,
)
from ..secretbox import SecretBox
from .contacts import CONTACT_FIELDS
from .endpoint_policy import PushEndpointNotHttps, plain_http_refused, refusal_message
from .endpoint_secret import redact_values, seal_endpoint
from .models import Agency, AgencySystem
from .repository import AgencyRepository, SystemRepository
from .schemas import (
    AgencyIn,
    AgencyPatch,
    ApiKeyOut,
    CertificateOut,
    ImportResult,
    SystemIn,
    SystemOut,
    SystemPatch,
)

CODE_2016 = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})$")
IMPORT_COLUMNS = (
    "code",
    "name",
    "parent_code",
    "level",
    "active",
    "superseded_by",
    "delivery_mode",
    "endpoint_url",
    "test_endpoint",
    *CONTACT_FIELDS,
)

Progress = Callable[[int], None]


def infer_level(code: str, parent_level: int | None = None) -> int:
    """Level 1–4 of a 2016-form code (read right to left); else one below the parent."""
    if m := CODE_2016.match(code):
        l4, l3, l2, _ = m.groups()
        if l4 != "000":
            return 4
        if l3 != "00":
            return 3
        return 2 if l2 != "00" else 1
    return (parent_level or 0) + 1


@dataclass(frozen=True)
class Route:
    """Where a package addressed to `addressed` goes: `final` (== addressed unless rerouted),
    with the final agency's row as the lookup found it (how it takes copies: push, poll,
    upstream), so that intake reads the registry once."""

    addressed: str
    final: str
    agency: Agency | None = field(default=None, compare=False, repr=False)

    @property
    def rerouted(self) -> bool:
        return self.addressed != self.final


def parse_import(data: bytes, fmt: str | None = None) -> list[dict[str, Any]]:
    """Rows of an import file: CSV with a header row, or JSON (a list, or {"agencies": [...]})."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest(
            "Tệp nhập phải là văn bản UTF-8", en="The import file must be UTF-8 text"
        ) from None
    fmt = fmt or ("json" if text.lstrip()[:1] in "[{" else "csv")
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(
                f"Tệp JSON không hợp lệ: {exc}", en=f"Invalid JSON file: {exc}"
            ) from None
        rows = doc.get("agencies") if isinstance(doc, dict) else doc
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadRequest(
                'JSON phải là một danh sách cơ quan hoặc {"agencies": [...]}',
                en='The JSON must be a list of agencies or {"agencies": [...]}',
            )
        return rows
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "code" not in reader.fieldnames:
        raise BadRequest(
            "Tệp CSV phải có dòng tiêu đề với cột code,name,…",
            en="The CSV file needs a header line with the columns code,name,…",
        )
    unknown = [f for f in reader.fieldnames if f not in IMPORT_COLUMNS]
    if unknown:
        raise BadRequest(
            f"Cột không được hỗ trợ: {', '.join(unknown)}",
            en=f"Unsupported columns: {', '.join(unknown)}",
        )
    return [
        {k: unsafe_cell(v) if isinstance(v, str) else v for k, v in row.items() if k is not None}
        for row in reader
    ]


class RegistryService:
    def __init__(
        self,
        session: AsyncSession,
        actor: str,
        *,
        box: SecretBox | None = None,
        require_https: bool = False,
    ):
        self.session = session
        self.actor = actor
        self.box = box  # seals credentials in endpoint URLs (registry.endpoint_secret)
        self.require_https = require_https  # production: push endpoints (registry.endpoint_policy)
        self.agencies = AgencyRepository(session)
        self.systems = SystemRepository(session)
        self.auth = AuthRepository(session)
        self.audit = AuditLog(session)

    # ------------------------------------------------------------------------ agencies

    async def get_agency(self, code: str) -> Agency:
        agency = await self.agencies.get(code)
        if agency is None:
            raise NotFound(f"Không có cơ quan mã {code}", en=f"No agency with code {code}")
        return agency

    def _check_endpoint(self, code: str, url: str | None, test_endpoint: bool) -> None:
        if plain_http_refused(self.require_https, url, test_endpoint):
            raise PushEndpointNotHttps(refusal_message(code, url or ""))

    async def _check_refs(self, parent: str | None, successor: str | None) -> int | None:
        parent_level = None
        if parent:
            p = await self.agencies.get(parent)
            if p is None:
                raise ValidationFailed(
                    f"Cơ quan cấp trên {parent} không có trong danh bạ",
                    en=f"The parent agency {parent} is not in the registry",
                )
            parent_level = p.level
        if successor and await self.agencies.get(successor) is None:
            raise ValidationFailed(
                f"Cơ quan kế thừa {successor} không có trong danh bạ",
                en=f"The successor agency {successor} is not in the registry",
            )
        return parent_level

    async def create_agency(self, data: AgencyIn) -> Agency:
        taken = (await self.agencies.spellings([data.code])).get(data.code.lower())
        if taken is not None:  # codes are unique whatever their case
            raise Conflict(
                f"Cơ quan mã {taken} đã có trong danh bạ",
                en=f"An agency with code {taken} is already in the registry",
                details={"code": taken},
            )
        parent_level = await self._check_refs(data.parent_code, data.superseded_by)
        self._check_endpoint(data.code, data.endpoint_url, data.test_endpoint)
        agency = Agency(
            **self._sealed(data.model_dump(exclude={"level"})),
            level=data.level or infer_level(data.code, parent_level),
        )
        self.agencies.add(agency)
        await self.session.flush()
        await self.audit.append(
            "agency.created",
            actor=self.actor,
            subject=f"agency:{agency.code}",
            data=redact_values(data.model_dump()),
        )
        return agency

    async def update_agency(self, code: str, patch: AgencyPatch) -> Agency:
        agency = await self.get_agency(code)
        changes = patch.model_dump(exclude_unset=True)
        cleared = [
            k
            for k in ("name", "level", "active", "delivery_mode")
            if k in changes and changes[k] is None
        ]  # null means "clear", and these cannot be cleared
        if cleared:
            raise ValidationFailed(
                f"Không thể đặt giá trị rỗng (null) cho: {', '.join(cleared)}",
                en=f"These cannot be set to null: {', '.join(cleared)}",
            )
        if changes.get("superseded_by") == code or changes.get("parent_code") == code:
            raise ValidationFailed(
                "Cơ quan không thể là cấp trên hay kế thừa của chính nó",
                en="An agency cannot be its own parent or successor",
            )
        await self._check_refs(changes.get("parent_code"), changes.get("superseded_by"))
        for key, value in self._sealed(changes).items():
            setattr(agency, key, value)
        if agency.delivery_mode == "push" and not agency.endpoint_url:
            raise ValidationFailed(
                "Chế độ push cần endpoint_url", en="Push mode needs an endpoint_url"
            )
        self._check_endpoint(code, agency.endpoint_url, agency.test_endpoint)
        agency.updated_at = utcnow()
        await self.session.flush()
        await self.audit.append(
            "agency.updated",
            actor=self.actor,
            subject=f"agency:{code}",
            data=redact_values(changes),
        )
        return agency

    async def import_agencies(
        self, rows: list[dict[str, Any]], progress: Progress | None = None
    ) -> ImportResult:
        """Create or update every row (upsert by code) in the caller's transaction.

        Parents and successors may appear anywhere in the file (or already be registered).
        Every invalid row is reported at once (422 with one finding per problem).
        """
        findings: list[dict[str, Any]] = []
        parsed: dict[str, AgencyIn] = {}
        lowered: set[str] = set()
        for number, row in enumerate(rows, start=1):
            try:
                item = AgencyIn.model_validate(
                    {k: v for k, v in row.items() if v is not None and k in IMPORT_COLUMNS}
                )
            except ValidationError as exc:
                for e in exc.errors():
                    loc = "/".join(str(p) for p in e["loc"]) or "row"
                    findings.append(_finding(f"bản ghi {number}: {e['msg']}", f"{number}/{loc}"))
                continue
            if item.code.lower() in lowered:
                findings.append(
                    _finding(f"bản ghi {number}: mã {item.code} bị lặp", f"{number}/code")
                )
            lowered.add(item.code.lower())
            if plain_http_refused(self.require_https, item.endpoint_url, item.test_endpoint):
                message = refusal_message(item.code, item.endpoint_url or "")
                findings.append(_finding(f"bản ghi {number}: {message}", f"{number}/endpoint_url"))
            parsed[item.code] = item
        for code, taken in (await self.agencies.spellings(parsed)).items():
            wanted = next(c for c in parsed if c.lower() == code)
            if wanted != taken:  # an upsert must name the agency as it is registered
                findings.append(
                    _finding(f"mã {wanted}: đã có {taken} (khác chữ hoa/thường)", wanted)
                )
        known = await self.agencies.existing_codes(
            c for a in parsed.values() for c in (a.parent_code, a.superseded_by) if c
        )
        for item in parsed.values():
            for ref in (item.parent_code, item.superseded_by):
                if ref and ref not in parsed and ref not in known:
                    findings.append(
                        _finding(f"mã {item.code}: {ref} không có trong tệp hay danh bạ", item.code)
                    )
        if findings:
            raise ValidationFailed(
                "Tệp danh bạ có lỗi, chưa nhập dòng nào",
                en="The registry file has errors; no row was imported",
                findings=findings,
            )

        existing = await self.agencies.get_many(parsed)
        levels = {code: a.level for code, a in existing.items()}
        levels.update(await self._levels_of(known - set(parsed)))

        def level_of(code: str, seen: frozenset[str] = frozenset()) -> int:
            if code in levels:
                return levels[code]
            item = parsed[code]
            parent = item.parent_code
            parent_level = (
                level_of(parent, seen | {code}) if parent and parent not in seen else None
            )
            levels[code] = item.level or infer_level(code, parent_level)
            return levels[code]

        now = utcnow()
        inserts, updates, links = [], [], []
        for code, item in parsed.items():
            values = self._sealed(
                item.model_dump(exclude={"parent_code", "superseded_by", "level"})
            )
            values["level"] = item.level or (
                existing[code].level if code in existing else level_of(code)
            )
            values["updated_at"] = now
            if code in existing:
                # a file without the newer columns leaves them as they are
                for key in ("test_endpoint", *CONTACT_FIELDS):
                    if key not in item.model_fields_set:
                        values.pop(key)
                updates.append(values)
            else:
                inserts.append({**values, "created_at": now})
            links.append(
                {"code": code, "parent_code": item.parent_code, "superseded_by": item.superseded_by}
            )
        done = 0
        for batch_rows, op in (
            (inserts, self.agencies.bulk_insert),
            (updates, self.agencies.bulk_update),
        ):
            for i in range(0, len(batch_rows), 500):
                chunk = batch_rows[i : i + 500]
                await op(chunk)
                done += len(chunk)
                if progress:
                    progress(len(chunk))
        for i in range(0, len(links), 500):
            await self.agencies.bulk_update(links[i : i + 500])
        self.session.expire_all()
        result = ImportResult(total=len(parsed), created=len(inserts), updated=len(updates))
        await self.audit.append(
            "agency.imported", actor=self.actor, subject="registry", data=result.model_dump()
        )
        return result

    def _sealed(self, values: dict[str, Any]) -> dict[str, Any]:
        try:
            return seal_endpoint(values, self.box)
        except ValueError:
            raise ValidationFailed(
                "endpoint_url chứa thông tin đăng nhập: chỉ nhận qua API quản trị "
                "(cần khóa niêm phong của gateway)"
            ) from None

    async def _levels_of(self, codes: Iterable[str]) -> dict[str, int]:
        return {c: a.level for c, a in (await self.agencies.get_many(codes)).items()}

    async def resolve(self, codes: Iterable[str]) -> list[Route]:
        """Route each addressed code: unknown → RecipientUnknown (all listed at once);
        inactive → its successor, following the chain (cycle or dead end → RecipientInactive)."""
        codes = list(dict.fromkeys(codes))
        found = await self.agencies.get_many(codes)
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise RecipientUnknown(
                "Mã cơ quan nhận không có trong danh bạ: " + ", ".join(unknown),
                en="Recipient codes not in the registry: " + ", ".join(unknown),
                details={"unknown": unknown},
            )
        routes: list[Route] = []
        dead: list[str] = []
        for code in codes:
            agency: Agency | None = found[code]
            seen = {code}
            while agency is not None and not agency.active:
                nxt = agency.superseded_by
                if nxt is None or nxt in seen:
                    agency = None
                    break
                seen.add(nxt)
                agency = await self.agencies.get(nxt)
            if agency is None:
                dead.append(code)
            else:
                routes.append(Route(code, agency.code, agency))
        if dead:
            raise RecipientInactive(
                "Cơ quan nhận đã ngừng hoạt động, không có đơn vị kế thừa: " + ", ".join(dead),
                en="Recipients inactive, with no successor: " + ", ".join(dead),
                details={"inactive": dead},
            )
        return routes

    # ------------------------------------------------------------------------- systems

    async def _agencies_exist(self, codes: list[str]) -> list[Agency]:
        found = await self.agencies.get_many(codes)
        missing = [c for c in codes if c not in found]
        if missing:
            raise ValidationFailed(
                "Cơ quan không có trong danh bạ: " + ", ".join(missing),
                en="Agencies not in the registry: " + ", ".join(missing),
            )
        return [found[c] for c in dict.fromkeys(codes)]

    async def get_system(self, system_id: str) -> AgencySystem:
        system = await self.systems.get(system_id)
        if system is None:
            system = await self.systems.by_name(system_id)
        if system is None:
            raise NotFound(f"Không có hệ thống {system_id}", en=f"No system {system_id}")
        return system

    async def create_system(self, data: SystemIn) -> tuple[AgencySystem, str]:
        if await self.systems.by_name(data.name) is not None:
            raise Conflict(
                f"Đã có hệ thống tên {data.name}", en=f"A system named {data.name} exists already"
            )
        agencies = await self._agencies_exist(data.agencies)
        system = AgencySystem(name=data.name, active=True, agencies=agencies)
        self.systems.add(system)
        await self.session.flush()
        key_row, key = new_api_key(system_id=system.id, label="initial")
        self.auth.add(key_row)
        for identity in data.certificates:
            await self._add_certificate(system, identity)
        await self.session.flush()
        await self.audit.append(
            "system.created",
            actor=self.actor,
            subject=f"system:{system.id}",
            data={
                "name": system.name,
                "agencies": [a.code for a in agencies],
                "key_prefix": key_row.prefix,
            },
        )
        return system, key

    async def update_system(self, system_id: str, patch: SystemPatch) -> AgencySystem:
        system = await self.get_system(system_id)
        changes = patch.model_dump(exclude_unset=True)
        if patch.agencies is not None:
            system.agencies = await self._agencies_exist(patch.agencies)
        if patch.active is not None:
            system.active = patch.active
        await self.session.flush()
        await self.audit.append(
            "system.updated", actor=self.actor, subject=f"system:{system.id}", data=changes
        )
        return system

    async def new_key(self, system_id: str, label: str | None = None) -> tuple[ApiKey, str]:
        system = await self.get_system(system_id)
        row, key = new_api_key(system_id=system.id, label=label)
        self.auth.add(row)
        await self.session.flush()
        await self.audit.append(
            "apikey.created",
            actor=self.actor,
            subject=f"system:{system.id}",
            data={"key_id": row.id, "prefix": row.prefix},
        )
        return row, key

    async def revoke_key(self, system_id: str, key_id: str) -> ApiKey:
        system = await self.get_system(system_id)
        row = await self.auth.get_key(key_id)
        if row is None or row.system_id != system.id:
            raise NotFound("Không có khóa này", en="No such key")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            await self.session.flush()
            await self.audit.append(
                "apikey.revoked",
                actor=self.actor,
                subject=f"system:{system.id}",
                data={"key_id": row.id, "prefix": row.prefix},
            )
        return row

    async def _add_certificate(self, system: AgencySystem, identity: str) -> ClientCertificate:
        ident = normalise_certificate_identity(identity)
        if await self.auth.certificate(ident) is not None:
            raise Conflict(
                "Chứng thư số này đã được gán cho một hệ thống",
                en="This certificate is already assigned to a system",
            )
        cert = ClientCertificate(system_id=system.id, identity=ident)
        self.auth.add(cert)
        return cert

    async def add_certificate(self, system_id: str, identity: str) -> ClientCertificate:
        system = await self.get_system(system_id)
        cert = await self._add_certificate(system, identity)
        await self.session.flush()
        await self.audit.append(
            "certificate.added",
            actor=self.actor,
            subject=f"system:{system.id}",
            data={"identity": cert.identity},
        )
        return cert

    async def system_out(self, system: AgencySystem) -> SystemOut:
        keys = await self.auth.keys_of_system(system.id)
        certs = await self.auth.certificates_of_system(system.id)
        return SystemOut(
            id=system.id,
            name=system.name,
            active=system.active,
            agencies=system.agency_codes,
            created_at=system.created_at,
            keys=[ApiKeyOut.model_validate(k) for k in keys],
            certificates=[CertificateOut.model_validate(c) for c in certs],
        )

    # ----------------------------------------------------------------------- operators

    async def bootstrap_admin(self, key: str) -> bool:
        """First start of a deployment: create operator `admin` holding the configured key,
        unless any operator exists already. Returns whether it created one."""
        if len(key) < MIN_BOOTSTRAP_KEY_LENGTH:
            minimum = MIN_BOOTSTRAP_KEY_LENGTH
            raise ValueError(f"GATEWAY_BOOTSTRAP_ADMIN_KEY needs at least {minimum} characters")
        if await self.auth.any_operator():
            return False
        await self.create_operator("admin", "admin", api_key=key)
        return True

    async def create_operator(
        self, username: str, role: str, password: str | None = None, *, api_key: str | None = None
    ) -> tuple[Operator, str]:
        if role not in ("operator", "admin"):
            raise ValidationFailed(
                "Vai trò phải là operator hoặc admin", en="The role must be operator or admin"
            )
        if password is not None:
            check_password(password, username=username)  # length >= 12, not common
        if await self.auth.operator_by_name(username) is not None:
            raise Conflict(
                f"Đã có người vận hành {username}", en=f"An operator {username} exists already"
            )
        op = Operator(
            username=username,
            role=role,
            password_hash=hash_password(password) if password else None,
            active=True,
        )
        self.auth.add(op)
        await self.session.flush()
        row, key = new_api_key(operator_id=op.id, label="initial", key=api_key)
        self.auth.add(row)
        await self.session.flush()
        await self.audit.append(
            "operator.created",
            actor=self.actor,
            subject=f"operator:{op.id}",
            data={"username": username, "role": role, "key_prefix": row.prefix},
        )
        return op, key


MIN_BOOTSTRAP_KEY_LENGTH = 32


def _finding(message: str, path: str) -> dict[str, Any]:
    return {
        "code": "IMPORT_ROW_INVALID",
        "severity": "error",
        "message": message,
        "path": path,
        "line": None,
    }
