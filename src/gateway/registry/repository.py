"""Queries on agencies and systems."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Agency, AgencySystem

CHUNK = 500


class AgencyRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, code: str) -> Agency | None:
        return await self.session.get(Agency, code)

    async def spellings(self, codes: Iterable[str]) -> dict[str, str]:
        """{lower(code): the code as registered} for registered codes equal up to case."""
        found: dict[str, str] = {}
        batch = list(dict.fromkeys(c.lower() for c in codes))
        for i in range(0, len(batch), CHUNK):
            rows = await self.session.scalars(
                select(Agency.code).where(func.lower(Agency.code).in_(batch[i : i + CHUNK]))
            )
            found.update({c.lower(): c for c in rows.all()})
        return found

    async def existing_codes(self, codes: Iterable[str]) -> set[str]:
        found: set[str] = set()
        batch = list(dict.fromkeys(codes))
        for i in range(0, len(batch), CHUNK):
            rows = await self.session.scalars(
                select(Agency.code).where(Agency.code.in_(batch[i : i + CHUNK]))
            )
            found.update(rows.all())
        return found

    async def get_many(self, codes: Iterable[str]) -> dict[str, Agency]:
        batch = list(dict.fromkeys(codes))
        out: dict[str, Agency] = {}
        for i in range(0, len(batch), CHUNK):
            rows = await self.session.scalars(
                select(Agency).where(Agency.code.in_(batch[i : i + CHUNK]))
            )
            out.update({a.code: a for a in rows.all()})
        return out

    async def page(
        self,
        *,
        q: str | None = None,
        parent: str | None = None,
        active: bool | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[list[Agency], int]:
        conditions = []
        if q:
            like = f"%{q}%"
            conditions.append(or_(Agency.code.ilike(like), Agency.name.ilike(like)))
        if parent:
            conditions.append(Agency.parent_code == parent)
        if active is not None:
            conditions.append(Agency.active.is_(active))
        total = await self.session.scalar(
            select(func.count()).select_from(Agency).where(*conditions)
        )
        rows = await self.session.scalars(
            select(Agency).where(*conditions).order_by(Agency.code).offset(offset).limit(limit)
        )
        return list(rows.all()), int(total or 0)

    def add(self, agency: Agency) -> None:
        self.session.add(agency)

    async def bulk_insert(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(Agency), list(rows))

    async def bulk_update(self, rows: Sequence[dict[str, Any]]) -> None:
        """ORM bulk UPDATE by primary key (each dict has `code`)."""
        if rows:
            await self.session.execute(update(Agency), list(rows))


class SystemRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def get(self, system_id: str) -> AgencySystem | None:
        return await self.session.get(AgencySystem, system_id)

    async def by_name(self, name: str) -> AgencySystem | None:
        return await self.session.scalar(select(AgencySystem).where(AgencySystem.name == name))

    async def all(self) -> list[AgencySystem]:
        return list(
            (await self.session.scalars(select(AgencySystem).order_by(AgencySystem.name))).all()
        )

    async def systems_for_agencies(self, codes: Iterable[str]) -> list[AgencySystem]:
        rows = await self.session.scalars(
            select(AgencySystem)
            .where(AgencySystem.agencies.any(Agency.code.in_(list(codes))))
            .order_by(AgencySystem.name)
        )
        return list(rows.all())

    def add(self, system: AgencySystem) -> None:
        self.session.add(system)
