"""The statements of intake's unit of work, set-based (issue 14): one statement per table
instead of one ORM flush per object, on SQLite and PostgreSQL alike.

- `first_answer`: the stored answer of an earlier submission with the same identity;
- `claim`: the package row, `INSERT … ON CONFLICT (idempotency_key) DO NOTHING` — a
  concurrent duplicate that committed first makes it insert nothing (no SAVEPOINT, no
  IntegrityError to recover from);
- `insert_rows`: the deliveries, business statuses, document references — one multi-row
  INSERT per table;
- `queue_copies`: one `delivery.ready` outbox row per copy that needs a transport's work.

The rows are built as ORM objects (the models stay the one description of the tables) but
never enter the session: their column values are inserted directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Base
from ..outbox import OutboxMessage
from ..outbox_wake import notify_outbox
from .models import Delivery, Package


def row_values(obj: Base) -> dict[str, Any]:
    """The column values of a model object not (yet) in a session. A None where the column
    has a default is left out, so the default applies as in an ORM flush."""
    values: dict[str, Any] = {}
    for column in inspect(type(obj)).columns:
        value = getattr(obj, column.key)
        if value is None and (column.default is not None or column.primary_key):
            continue
        values[column.key] = value
    return values


async def first_answer(session: AsyncSession, key: str) -> Row[Any] | None:
    """(sha256, intake_result) of the package with this idempotency key, if any."""
    result = await session.execute(
        select(Package.sha256, Package.intake_result).where(Package.idempotency_key == key)
    )
    return result.first()


async def claim(session: AsyncSession, package: Package) -> bool:
    """Insert the package unless one with its idempotency key exists (False then)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Package)
        .values(row_values(package))
        .on_conflict_do_nothing(index_elements=[Package.idempotency_key])
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def insert_rows(session: AsyncSession, rows: Sequence[Base]) -> None:
    """One INSERT per table (rows of one model share their columns' layout)."""
    by_model: dict[type[Base], list[dict[str, Any]]] = {}
    for row in rows:
        by_model.setdefault(type(row), []).append(row_values(row))
    for model, values in by_model.items():
        await session.execute(insert(model), values)


async def queue_copies(
    session: AsyncSession, package: Package, deliveries: Sequence[Delivery], now: datetime
) -> None:
    """`delivery.ready` for each copy a transport must carry (one INSERT)."""
    if not deliveries:
        return
    await session.execute(
        insert(OutboxMessage),
        [
            {
                "topic": "delivery.ready",
                "payload": {
                    "delivery_id": d.id,
                    "package_id": package.id,
                    "recipient": d.recipient_code,
                    "kind": package.kind,
                    "priority": package.priority or 0,
                    "request_id": package.request_id,
                },
                "created_at": now,
                "attempts": 0,
            }
            for d in deliveries
        ],
    )
    notify_outbox(session)  # this process's relay (SQLite); PostgreSQL's trigger wakes all
