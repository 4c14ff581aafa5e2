"""The migration that makes the gateway's downtimes outage incidents (2026_12_02_regulatory2):
the downtimes recorded before become closed `gateway` incidents, existing incidents keep their
e-mails (SQLite copies the table to change its CHECK constraint), and it goes back down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from gateway.db import Database, alembic_config

BEFORE = "2026_12_02_hot_intake"
THIS = "2026_12_02_regulatory2"


async def _to(db: Database, revision: str, *, down: bool = False) -> None:
    async with db.engine.begin() as conn:
        step = command.downgrade if down else command.upgrade
        await conn.run_sync(lambda c: step(alembic_config(c), revision))


async def test_downtimes_become_gateway_incidents(empty_database) -> None:
    db = Database(empty_database)
    try:
        await _to(db, BEFORE)
        async with db.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO gateway_downtimes (started_at, ended_at, duration_seconds, "
                    "working_seconds, recorded_by) VALUES ('2026-11-20 09:04:00+00:00', "
                    "'2026-11-23 02:00:00+00:00', 233760, 8760, 'host:42')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO outage_incidents (kind, target, started_at, opened_at, "
                    "affected) VALUES ('agency', '000.00.00.H17', '2026-11-20 09:00:00+00:00', "
                    "'2026-11-23 03:31:00+00:00', 1)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO outage_emails (incident_id, event, state, attempts, "
                    "created_at) SELECT id, 'opened', 'sent', 1, opened_at FROM outage_incidents"
                )
            )
        await _to(db, THIS)
        async with db.engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT kind, target, duration_seconds, working_seconds, last_error, "
                        "closed_at IS NOT NULL FROM outage_incidents ORDER BY id"
                    )
                )
            ).all()
            emails = (await conn.execute(text("SELECT count(*) FROM outage_emails"))).scalar()
            # the new kinds are allowed now
            await conn.execute(
                text(
                    "INSERT INTO outage_incidents (kind, target, started_at, opened_at, "
                    "affected) VALUES ('inbox', '000.00.00.A80', '2026-11-20 09:00:00+00:00', "
                    "'2026-11-23 03:31:00+00:00', 1)"
                )
            )
        assert rows[0][:2] == ("agency", "000.00.00.H17")
        assert rows[1][:4] == ("gateway", "gateway", 233760, 8760)
        assert "host:42" in rows[1][4] and rows[1][5]
        assert emails == 1  # not lost with the SQLite table copy

        await _to(db, BEFORE, down=True)
        async with db.engine.connect() as conn:
            kinds = (await conn.execute(text("SELECT kind FROM outage_incidents"))).scalars()
            downtimes = (
                await conn.execute(text("SELECT duration_seconds FROM gateway_downtimes"))
            ).scalars()
            assert list(kinds) == ["agency"] and list(downtimes) == [233760]
            emails = (await conn.execute(text("SELECT count(*) FROM outage_emails"))).scalar()
            assert emails == 1
    finally:
        await db.dispose()
