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

SQLite holds the single write turn from the unit of work's first statement
(`gateway.db.begin_write`), so what `read_for_fetch` saw is what `record_fetch` changes; on
PostgreSQL the state transitions are decided in the UPDATE itself (`CASE`), as the row is then.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, func, literal, not_, or_, select, union_all, update

from ..registry.models import Agency
from .arrival import EnteredVia
from .models import ArchiveTombstone, Delivery, Package

_deliveries = Delivery.__table__
_d = _deliveries.c
_TIME = _d.updated_at.type  # UTCDateTime: naive UTC on SQLite, timestamptz on PostgreSQL


def _at(moment: datetime) -> Any:
    return literal(moment, _TIME)


@dataclass(frozen=True)
class Copy:
    """One of the caller's copies of a package, as the fetch found it."""

    id: str
    recipient_code: str
    state: str
    entered: bool  # already entered the recipient's system (first fetch, push or ack)


@dataclass(frozen=True)
class ForFetch:
    package_id: str
    sender_code: str
    raw: bytes | None
    pruned: bool  # an archive tombstone exists (410 when the bytes are gone)
    copies: list[Copy]  # the caller's, every state, by recipient code


async def read_for_fetch(session, package_id: str, agencies: Collection[str]) -> ForFetch | None:
    """The package and the copies of it addressed to `agencies`; None if there is no package."""
    rows = (
        await session.execute(
            select(
                Package.id,
                Package.sender_code,
                Package.raw,
                ArchiveTombstone.package_id.is_not(None).label("pruned"),
                _d.id.label("copy_id"),
                _d.recipient_code,
                _d.state,
                _d.entered_at.is_not(None).label("entered"),
            )
            .select_from(Package)
            .outerjoin(ArchiveTombstone, ArchiveTombstone.package_id == Package.id)
            .outerjoin(
                _deliveries,
                and_(_d.package_id == Package.id, _d.recipient_code.in_(sorted(agencies))),
            )
            .where(Package.id == package_id)
            .order_by(_d.recipient_code)
        )
    ).all()
    if not rows:
        return None
    first = rows[0]
    copies = [
        Copy(r.copy_id, r.recipient_code, r.state, bool(r.entered))
        for r in rows
        if r.copy_id is not None
    ]
    return ForFetch(first.id, first.sender_code, first.raw, bool(first.pruned), copies)


async def record_fetch(
    session,
    copy_ids: list[str],
    now: datetime,
    via: EnteredVia,
    entered_legal_at: datetime | None,
) -> None:
    """One more fetch of these copies: the first one is their entry into the recipient's
    system (`entered_legal_at`: its legal receipt time, needed when one has not entered yet);
    a pending copy becomes delivered."""
    if not copy_ids:
        return
    pending = _d.state == "pending"
    values: dict[str, Any] = {
        "attempts": _d.attempts + 1,
        "updated_at": _at(now),
        "delivered_at": case((pending, _at(now)), else_=_d.delivered_at),
        "state": case((pending, "delivered"), else_=_d.state),
    }
    if entered_legal_at is not None:
        values |= _entered(now, via, entered_legal_at)
    await session.execute(update(_deliveries).where(_d.id.in_(copy_ids)).values(values))


def _entered(now: datetime, via: EnteredVia, legal: datetime) -> dict[str, Any]:
    """The copy's entry into the recipient's system, set once (gateway.packages.arrival)."""
    first = _d.entered_at.is_(None)
    return {
        "entered_at": case((first, _at(now)), else_=_d.entered_at),
        "entered_via": case((first, via), else_=_d.entered_via),
        "entered_legal_at": case((first, _at(legal)), else_=_d.entered_legal_at),
    }


@dataclass(frozen=True)
class Acked:
    """An acknowledged copy and what its sender's notice needs."""

    delivery_id: str
    package_id: str
    recipient_code: str
    sender_code: str
    document_id: str | None
    sender_pushes: bool  # the sender takes notices at its endpoint (else: its notice list)


async def record_ack(
    session,
    delivery_id: str,
    agencies: Collection[str],
    now: datetime,
    entered_legal_at: datetime,
) -> Acked | None:
    """Acknowledge the copy if it is one of `agencies`', neither cancelled nor acknowledged."""
    # scalar subqueries without joins: SQLite's RETURNING names columns unqualified (and both
    # packages and agencies have a `code`)
    package = select(Package).where(Package.id == _d.package_id).correlate(_deliveries)
    sender_code = package.with_only_columns(Package.sender_code).scalar_subquery()
    sender = select(Agency).where(Agency.code == sender_code)
    statement = (
        update(_deliveries)
        .where(
            _d.id == delivery_id,
            _d.recipient_code.in_(sorted(agencies)),
            _d.state != "cancelled",
            not_(and_(_d.state == "acknowledged", _d.acknowledged_at.is_not(None))),
        )
        .values(
            state="acknowledged",
            acknowledged_at=_at(now),
            delivered_at=func.coalesce(_d.delivered_at, _at(now)),
            updated_at=_at(now),
            **_entered(now, "ack", entered_legal_at),  # acknowledged without a fetch
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
    row = (await session.execute(statement)).first()
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
    firsts = []
    for state in sorted(set(states)):
        conditions = [_d.recipient_code == agency, _d.state == state, _d.kind.in_(list(kinds))]
        if after is not None:
            at, last_id = after
            # `>=` first: the index range starts at the cursor; the rest filters its ties
            conditions += [
                _d.queued_at >= _at(at),
                or_(_d.queued_at > _at(at), _d.id > last_id),
            ]
        firsts.append(
            select(_d.id, _d.queued_at)
            .where(*conditions)
            .order_by(_d.queued_at, _d.id)
            .limit(limit)
            .subquery()
        )
    if not firsts:
        return []
    page = union_all(*(select(f.c.id, f.c.queued_at) for f in firsts)).subquery()
    result = await session.execute(
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
    return list(result.all())
