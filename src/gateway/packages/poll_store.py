"""The statements of the poll side's hot path (issue 14): a recipient fetching a package and
acknowledging its copy, as Core statements on the `deliveries` table instead of ORM objects
loaded, changed and flushed one by one — on SQLite and PostgreSQL alike. The rules (who may
fetch or acknowledge, what a repeat answers) stay in gateway.packages.service; this module
only says how to read and write them in few statements.

- `read_for_fetch`: the package's bytes, whether it was pruned, and the caller's copies of it
  (cancelled ones included: they make the refusal a 404) — one SELECT;
- `record_fetch`: the copies' fetch recorded — `attempts`, the first fetch as the copy's entry
  into the recipient's system, `pending` → `delivered` — one UPDATE;
- `inbox_page`: one page of an agency's inbox, only the columns the listing shows — one
  SELECT (on `ix_deliveries_inbox`);
- `record_ack`: the copy acknowledged if it may be (the caller's, not cancelled, not already
  acknowledged), returning what the audit event and the sender's notice need — one
  UPDATE … RETURNING. None when nothing changed: the caller then finds out why (cold path).

The statements are built once, at import, with bound parameters: building an UPDATE with
subqueries per request cost more Python than running it.

SQLite holds the single write turn from the unit of work's first statement
(`gateway.db.begin_write`), so what `read_for_fetch` saw is what `record_fetch` changes; on
PostgreSQL the state transitions are decided in the UPDATE itself (`CASE`), as the row is then.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    and_,
    bindparam,
    case,
    func,
    not_,
    or_,
    select,
    union_all,
    update,
)

from ..registry.models import Agency
from .arrival import EnteredVia
from .models import ArchiveTombstone, Delivery, Package

_deliveries = Delivery.__table__
_d = _deliveries.c
_TIME = _d.updated_at.type  # UTCDateTime: naive UTC on SQLite, timestamptz on PostgreSQL
_NOW = bindparam("now", type_=_TIME)
_AGENCIES = bindparam("agencies", expanding=True)


@dataclass(frozen=True)
class Copy:
    """One of the caller's copies of a package, as the fetch found it."""

    id: str
    recipient_code: str
    state: str


@dataclass(frozen=True)
class ForFetch:
    package_id: str
    sender_code: str
    raw: bytes | None
    pruned: bool  # an archive tombstone exists (410 when the bytes are gone)
    copies: list[Copy]  # the caller's, every state, by recipient code


_READ_FOR_FETCH = (
    select(
        Package.id,
        Package.sender_code,
        Package.raw,
        ArchiveTombstone.package_id.is_not(None).label("pruned"),
        _d.id.label("copy_id"),
        _d.recipient_code,
        _d.state,
    )
    .select_from(Package)
    .outerjoin(ArchiveTombstone, ArchiveTombstone.package_id == Package.id)
    .outerjoin(_deliveries, and_(_d.package_id == Package.id, _d.recipient_code.in_(_AGENCIES)))
    .where(Package.id == bindparam("package_id"))
    .order_by(_d.recipient_code)
)


async def read_for_fetch(session, package_id: str, agencies: Collection[str]) -> ForFetch | None:
    """The package and the copies of it addressed to `agencies`; None if there is no package."""
    rows = (
        await session.execute(
            _READ_FOR_FETCH, {"package_id": package_id, "agencies": sorted(agencies)}
        )
    ).all()
    if not rows:
        return None
    first = rows[0]
    copies = [Copy(r.copy_id, r.recipient_code, r.state) for r in rows if r.copy_id is not None]
    return ForFetch(first.id, first.sender_code, first.raw, bool(first.pruned), copies)


def _entered() -> dict[str, Any]:
    """The copy's entry into the recipient's system, set once (gateway.packages.arrival):
    parameters `now`, `via` and `legal` (its legal receipt time)."""
    first = _d.entered_at.is_(None)
    return {
        "entered_at": case((first, _NOW), else_=_d.entered_at),
        "entered_via": case((first, bindparam("via")), else_=_d.entered_via),
        "entered_legal_at": case(
            (first, bindparam("legal", type_=_TIME)), else_=_d.entered_legal_at
        ),
    }


_pending = _d.state == "pending"
_RECORD_FETCH = (
    update(_deliveries)
    .where(_d.id.in_(bindparam("ids", expanding=True)))
    .values(
        attempts=_d.attempts + 1,
        updated_at=_NOW,
        delivered_at=case((_pending, _NOW), else_=_d.delivered_at),
        state=case((_pending, "delivered"), else_=_d.state),
        **_entered(),
    )
)


async def record_fetch(
    session, copy_ids: list[str], now: datetime, via: EnteredVia, entered_legal_at: datetime
) -> None:
    """One more fetch of these copies: the first one is their entry into the recipient's
    system (`entered_legal_at`: its legal receipt time); a pending copy becomes delivered."""
    if copy_ids:
        await session.execute(
            _RECORD_FETCH, {"ids": copy_ids, "now": now, "via": via, "legal": entered_legal_at}
        )


@dataclass(frozen=True)
class Acked:
    """An acknowledged copy and what its sender's notice needs."""

    delivery_id: str
    package_id: str
    recipient_code: str
    sender_code: str
    document_id: str | None
    sender_pushes: bool  # the sender takes notices at its endpoint (else: its notice list)


def _record_ack_statement() -> Any:
    # scalar subqueries without joins: SQLite's RETURNING names columns unqualified (and both
    # packages and agencies have a `code`)
    package = select(Package).where(Package.id == _d.package_id).correlate(_deliveries)
    sender_code = package.with_only_columns(Package.sender_code).scalar_subquery()
    sender = select(Agency).where(Agency.code == sender_code)
    return (
        update(_deliveries)
        .where(
            _d.id == bindparam("delivery_id"),
            _d.recipient_code.in_(_AGENCIES),
            _d.state != "cancelled",
            not_(and_(_d.state == "acknowledged", _d.acknowledged_at.is_not(None))),
        )
        .values(
            state="acknowledged",
            acknowledged_at=_NOW,
            delivered_at=func.coalesce(_d.delivered_at, _NOW),
            updated_at=_NOW,
            **_entered(),  # acknowledged without a fetch
        )
        .returning(
            _d.package_id,
            _d.recipient_code,
            sender_code,
            package.with_only_columns(Package.document_id).scalar_subquery(),
            sender.with_only_columns(Agency.delivery_mode).scalar_subquery(),
            sender.with_only_columns(Agency.endpoint_url).scalar_subquery(),
        )
    )


_RECORD_ACK = _record_ack_statement()


async def record_ack(
    session,
    delivery_id: str,
    agencies: Collection[str],
    now: datetime,
    entered_legal_at: datetime,
) -> Acked | None:
    """Acknowledge the copy if it is one of `agencies`', neither cancelled nor acknowledged."""
    parameters = {
        "delivery_id": delivery_id,
        "agencies": sorted(agencies),
        "now": now,
        "via": "ack",
        "legal": entered_legal_at,
    }
    row = (await session.execute(_RECORD_ACK, parameters)).first()
    if row is None:
        return None
    package_id, recipient, sender_code, document_id, mode, endpoint = row
    return Acked(
        delivery_id,
        package_id,
        recipient,
        sender_code,
        document_id,
        sender_pushes=mode == "push" and bool(endpoint),
    )


@lru_cache(maxsize=64)
def _inbox_statement(states: tuple[str, ...], kinds: tuple[str, ...], after: bool) -> Any:
    """Each state's first `limit` copies in the order of `ix_deliveries_inbox`, merged."""
    at = bindparam("at", type_=_TIME)
    limit = bindparam("limit", type_=Integer)
    firsts = []
    for state in states:
        conditions = [_d.recipient_code == bindparam("agency"), _d.state == state]
        conditions.append(_d.kind.in_(kinds))
        if after:
            # `>=` first: the index range starts at the cursor; the rest filters its ties
            conditions += [_d.queued_at >= at, or_(_d.queued_at > at, _d.id > bindparam("id"))]
        firsts.append(
            select(_d.id, _d.queued_at)
            .where(*conditions)
            .order_by(_d.queued_at, _d.id)
            .limit(limit)
            .subquery()
        )
    page = union_all(*(select(f.c.id, f.c.queued_at) for f in firsts)).subquery()
    return (
        select(
            _d.id.label("delivery_id"),
            _d.state,
            _d.recipient_code,
            _d.addressed_to,
            _d.queued_at,
            _d.sent_at,
            _d.legal_received_at,
            _d.delivered_at,
            _d.acknowledged_at,
            Package.id.label("package_id"),
            Package.kind,
            Package.sender_code,
            Package.document_id,
            Package.code,
            Package.subject,
            Package.priority,
            Package.business_type,
            Package.status_code,
            Package.size,
            Package.sha256,
        )
        .select_from(page)
        .join(_deliveries, _d.id == page.c.id)
        .join(Package, Package.id == _d.package_id)
        .order_by(page.c.queued_at, page.c.id)
        .limit(limit)
    )


async def inbox_page(
    session,
    agency: str,
    *,
    kinds: Sequence[str],
    states: Sequence[str],
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Row[Any]]:
    """Copies for `agency` in `states`, oldest first (queued_at, id), after the cursor.

    Each state's first `limit` copies are read in the order of `ix_deliveries_inbox`
    (recipient_code, state, queued_at) and merged: a page costs what the page holds, not what
    the inbox holds (one index range over all the states would have to sort every open copy:
    PostgreSQL read the whole table for a page of an inbox of 90 000 open copies)."""
    if not states or not kinds:
        return []
    statement = _inbox_statement(tuple(sorted(set(states))), tuple(sorted(set(kinds))), bool(after))
    parameters: dict[str, Any] = {"agency": agency, "limit": limit}
    if after is not None:
        parameters["at"], parameters["id"] = after
    return list((await session.execute(statement, parameters)).all())
