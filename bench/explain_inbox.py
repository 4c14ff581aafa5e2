"""EXPLAIN ANALYZE of the inbox page on PostgreSQL for a large inbox: 300 000 packages, H17
holding a copy of each (30 % open: 20 % pending, 10 % delivered) and H18/H19 a third each,
in a fresh database (dropped afterwards).

    python bench/explain_inbox.py [--postgres-url URL] [--plans]

Prints, for the first page and a page 40 000 copies in, the execution time of the page as
gateway.packages.poll_store reads it (each state in index order, merged) and of one index
range over both states ordered by (queued_at, id) — the query it replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import and_, or_, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url

from bench_intake import admin_sql
from gateway.app import create_app
from gateway.packages import poll_store
from gateway.packages.models import Delivery, Package
from gateway.settings import Settings

OPEN = ("pending", "delivered")
KINDS = ("document", "status")


def one_range(after):
    """The replaced query: one range over both states (repository.inbox before issue 14)."""
    conditions = [
        Delivery.recipient_code == "H17",
        Delivery.state.in_(OPEN),
        Delivery.kind.in_(KINDS),
    ]
    if after is not None:
        at, last_id = after
        conditions.append(
            or_(Delivery.queued_at > at, and_(Delivery.queued_at == at, Delivery.id > last_id))
        )
    return (
        select(Delivery, Package)
        .join(Package, Package.id == Delivery.package_id)
        .where(*conditions)
        .order_by(Delivery.queued_at, Delivery.id)
        .limit(51)
    )


def merged(after):
    statement = poll_store._inbox_statement(OPEN, KINDS, after is not None)
    parameters = {"agency": "H17", "limit": 51}
    if after is not None:
        parameters["at"], parameters["id"] = after
    return statement.params(parameters)


async def run(args) -> None:
    name = f"gateway_explain_{uuid.uuid4().hex[:8]}"
    await admin_sql(args.postgres_url, f'CREATE DATABASE "{name}"')
    tmp = tempfile.TemporaryDirectory()
    try:
        url = make_url(args.postgres_url).set(database=name)
        settings = Settings(
            data_dir=Path(tmp.name), database_url=url.render_as_string(hide_password=False)
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            engine = app.state.db.engine
            async with engine.begin() as c:
                for code in ("A80", "H17", "H18", "H19"):
                    await c.execute(
                        text(
                            "INSERT INTO agencies (code, name, level, delivery_mode, active, "
                            "test_endpoint, created_at, updated_at) "
                            "VALUES (:c, :c, 1, 'poll', true, false, now(), now())"
                        ),
                        {"c": code},
                    )
                await c.execute(
                    text(
                        "INSERT INTO packages (id, kind, idempotency_key, sender_code, size, "
                        "sha256, raw, received_at, legal_received_at, subject) "
                        "SELECT 'p' || g, 'document', md5(g::text) || md5(g::text), 'A80', "
                        "1000, md5(g::text) || md5(g::text), '\\x00'::bytea, "
                        "now() - (g || ' seconds')::interval, now(), 'Subject ' || g "
                        "FROM generate_series(1, 300000) g"
                    )
                )
                await c.execute(
                    text(
                        "INSERT INTO deliveries (id, package_id, recipient_code, kind, state, "
                        "queued_at, attempts, updated_at) "
                        "SELECT 'd' || g || r, 'p' || g, r, 'document', "
                        "CASE WHEN g % 10 < 7 THEN 'acknowledged' WHEN g % 10 < 9 "
                        "THEN 'pending' ELSE 'delivered' END, "
                        "now() - (g || ' seconds')::interval, 0, now() "
                        "FROM generate_series(1, 300000) g, (VALUES ('H17'), ('H18'), ('H19')) "
                        "v(r) WHERE g % 3 = 0 OR r = 'H17'"
                    )
                )
            async with engine.begin() as c:
                await c.execute(text("ANALYZE"))
                row = (
                    await c.execute(
                        text(
                            "SELECT queued_at, id FROM deliveries WHERE recipient_code = 'H17' "
                            "AND state IN ('pending', 'delivered') "
                            "ORDER BY queued_at, id OFFSET 40000 LIMIT 1"
                        )
                    )
                ).first()
            for page, after in (("first page", None), ("page 40 000 copies in", tuple(row))):
                for label, statement in (
                    ("merged", merged(after)),
                    ("one range", one_range(after)),
                ):
                    sql = str(
                        statement.compile(
                            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                        )
                    )
                    async with engine.connect() as c:
                        plan = (
                            await c.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))
                        ).scalars()
                        plan = list(plan)
                    took = next(p for p in plan if p.startswith("Execution Time"))
                    scans = sorted(
                        {
                            m.group(0)
                            for p in plan
                            for m in re.finditer(r"(Parallel )?\w+ Scan( using \w+)?", p)
                        }
                    )
                    print(f"{page:24} {label:10} {took}; {', '.join(scans)}")
                    if args.plans:
                        print("\n".join(plan))
    finally:
        await admin_sql(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        tmp.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--plans", action="store_true", help="print the whole plans")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
