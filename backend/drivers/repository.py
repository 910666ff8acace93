from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import User
from backend.drivers.models import Device, Driver, Vehicle
from backend.lib.clock import utcnow


class DriverRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _rows(self):
        return (
            select(Driver, User.email, Vehicle)
            .join(User, User.id == Driver.user_id)
            .outerjoin(Vehicle, Vehicle.driver_id == Driver.id)
        )

    async def get_row(self, driver_id: UUID) -> Row | None:
        return (await self.session.execute(self._rows().where(Driver.id == driver_id))).first()

    async def list_rows(
        self, *, after: UUID | None, limit: int, hub_id: UUID | None, active: bool | None
    ) -> Sequence[Row]:
        query = self._rows().order_by(Driver.id).limit(limit)
        if after:
            query = query.where(Driver.id > after)
        if hub_id:
            query = query.where(Driver.home_hub_id == hub_id)
        if active is not None:
            query = query.where(Driver.active == active)
        return (await self.session.execute(query)).all()

    async def get(self, driver_id: UUID) -> Driver | None:
        return await self.session.get(Driver, driver_id)

    async def for_user(self, user_id: UUID) -> Driver | None:
        return await self.session.scalar(select(Driver).where(Driver.user_id == user_id))

    async def upsert_device(self, driver_id: UUID, device_id: str) -> None:
        statement = insert(Device).values(driver_id=driver_id, device_id=device_id)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[Device.driver_id, Device.device_id],
                set_={"last_seen_at": utcnow()},
            )
        )

    def add(self, *objects: object) -> None:
        self.session.add_all(objects)
