"""Queries on credentials and operators."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..registry.models import AgencySystem
from .models import ApiKey, ClientCertificate, Operator


class AuthRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    async def active_keys_with_prefix(self, prefix: str) -> list[ApiKey]:
        rows = await self.session.scalars(
            select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
        )
        return list(rows.all())

    async def certificate(self, identity: str) -> ClientCertificate | None:
        return await self.session.scalar(
            select(ClientCertificate).where(
                ClientCertificate.identity == identity, ClientCertificate.revoked_at.is_(None)
            )
        )

    async def get_system(self, system_id: str) -> AgencySystem | None:
        return await self.session.get(AgencySystem, system_id)

    async def get_operator(self, operator_id: str) -> Operator | None:
        return await self.session.get(Operator, operator_id)

    async def any_operator(self) -> bool:
        return (await self.session.scalar(select(Operator.id).limit(1))) is not None

    async def operator_by_name(self, username: str) -> Operator | None:
        return await self.session.scalar(select(Operator).where(Operator.username == username))

    async def keys_of_system(self, system_id: str) -> list[ApiKey]:
        rows = await self.session.scalars(
            select(ApiKey).where(ApiKey.system_id == system_id).order_by(ApiKey.created_at)
        )
        return list(rows.all())

    async def get_key(self, key_id: str) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def certificates_of_system(self, system_id: str) -> list[ClientCertificate]:
        rows = await self.session.scalars(
            select(ClientCertificate)
            .where(ClientCertificate.system_id == system_id)
            .order_by(ClientCertificate.created_at)
        )
        return list(rows.all())

    def add(self, *rows: object) -> None:
        self.session.add_all(rows)
