from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.lib.geo import point_sql
from backend.network.models import Hub, PickupPoint, Zone

M = TypeVar("M", Hub, Zone, PickupPoint)


class NetworkRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: M) -> M:
        self.session.add(obj)
        await self.session.flush()
        return obj

    async def get(self, model: type[M], obj_id: UUID) -> M | None:
        return await self.session.get(model, obj_id)

    async def hub_by_code(self, code: str) -> Hub | None:
        return await self.session.scalar(select(Hub).where(Hub.code == code))

    async def page(
        self, model: type[M], *, after: UUID | None, limit: int, **filters: Any
    ) -> Sequence[M]:
        query = select(model).order_by(model.id).limit(limit)
        if after:
            query = query.where(model.id > after)
        for name, value in filters.items():
            if value is not None:
                query = query.where(getattr(model, name) == value)
        return (await self.session.scalars(query)).all()

    async def zone_containing(self, lon: float, lat: float, hub_id: UUID | None) -> UUID | None:
        """The zone whose area contains the point (the smallest, where zones overlap)."""
        point = point_sql(lon, lat)
        query = (
            select(Zone.id)
            .where(func.ST_Contains(Zone.area, point))
            .order_by(func.ST_Area(Zone.area), Zone.id)
            .limit(1)
        )
        if hub_id:
            query = query.where(Zone.hub_id == hub_id)
        return await self.session.scalar(query)
