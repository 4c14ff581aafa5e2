"""The registry as a CSV file in the import format (round-trips through `import`, which reads
back the apostrophe `gateway.csv_out.safe_cell` puts before formula-like names)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..csv_out import safe_cell
from .models import Agency
from .service import IMPORT_COLUMNS


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def export_csv(session: AsyncSession) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(IMPORT_COLUMNS)
    for agency in await session.scalars(select(Agency).order_by(Agency.code)):
        writer.writerow([safe_cell(_cell(getattr(agency, column))) for column in IMPORT_COLUMNS])
    return out.getvalue()
