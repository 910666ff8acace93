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

    async def bind_device(self, driver_id: UUID, device_id: str) -> UUID:
        """Bind the device to the driver unless it is bound already; returns the driver that
        holds it now. The insert waits for a concurrent first binding, so one driver wins."""
        statement = insert(Device).values(driver_id=driver_id, device_id=device_id)
        holder = await self.session.scalar(
            statement.on_conflict_do_update(
                index_elements=[Device.device_id],
                set_={"last_seen_at": utcnow()},
                where=Device.driver_id == driver_id,
            ).returning(Device.driver_id)
        )
        if holder is not None:
            return holder
        return await self.session.scalar(
            select(Device.driver_id).where(Device.device_id == device_id)
        )

    async def device_holder(self, device_id: str) -> UUID | None:
        return await self.session.scalar(
            select(Device.driver_id).where(Device.device_id == device_id)
        )

    async def devices(
        self, *, after: UUID | None, limit: int, driver_id: UUID | None, device_id: str | None
    ) -> Sequence[Device]:
        query = select(Device).order_by(Device.id).limit(limit)
        if after:
            query = query.where(Device.id > after)
        if driver_id:
            query = query.where(Device.driver_id == driver_id)
        if device_id:
            query = query.where(Device.device_id == device_id)
        return (await self.session.scalars(query)).all()

    async def get_device(self, device_pk: UUID) -> Device | None:
        return await self.session.get(Device, device_pk)

    async def delete_device(self, device: Device) -> None:
        await self.session.delete(device)
        await self.session.flush()

    def add(self, *objects: object) -> None:
        self.session.add_all(objects)
