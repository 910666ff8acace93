from uuid import UUID

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.sessions import SessionService
from backend.auth.users import UserService
from backend.drivers.models import Device, Driver, Vehicle
from backend.drivers.repository import DriverRepository
from backend.drivers.schemas import DeviceRead, DriverCreate, DriverRead, VehicleIn
from backend.lib.errors import Conflict, Invalid, NotFound, Unauthorized
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.network.service import NetworkService


class DriverService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.drivers = DriverRepository(session)

    async def create(self, data: DriverCreate, *, password_hash: str | None = None) -> DriverRead:
        await NetworkService(self.session).require_hub(data.home_hub_id, field="home_hub_id")
        user = await UserService(self.session).create(
            data.email, data.password, "driver", password_hash=password_hash
        )
        driver = Driver(
            user_id=user.id,
            name=data.name,
            phone=data.phone,
            home_hub_id=data.home_hub_id,
            employment=data.employment,
        )
        self.drivers.add(driver)
        await self.session.flush()
        if data.vehicle:
            self.drivers.add(Vehicle(driver_id=driver.id, **_vehicle_fields(data.vehicle)))
            await self.session.flush()
        return await self.get(driver.id)

    async def get(self, driver_id: UUID) -> DriverRead:
        row = await self.drivers.get_row(driver_id)
        if row is None:
            raise NotFound("No such driver")
        return _read(row)

    async def page(
        self, *, cursor: str | None, limit: int, hub_id: UUID | None, active: bool | None
    ) -> Page[DriverRead]:
        rows = await self.drivers.list_rows(
            after=decode_cursor(cursor), limit=limit + 1, hub_id=hub_id, active=active
        )
        return page_of([_read(row) for row in rows], limit, lambda driver: driver.id)

    async def set_active(self, driver_id: UUID, active: bool) -> DriverRead:
        driver = await self.drivers.get(driver_id)
        if driver is None:
            raise NotFound("No such driver")
        driver.active = active
        await UserService(self.session).set_active(driver.user_id, active)
        await self.session.flush()
        return await self.get(driver_id)

    async def require(self, driver_id: UUID, *, field: str = "driver_id") -> Driver:
        driver = await self.drivers.get(driver_id)
        if driver is None:
            raise Invalid("No such driver", field=field, code="unknown_driver")
        if not driver.active:
            raise Invalid("This driver is deactivated", field=field, code="driver_inactive")
        return driver

    async def for_user(self, user_id: UUID) -> Driver | None:
        return await self.drivers.for_user(user_id)

    # devices ---------------------------------------------------------------------------------

    async def register_device(self, driver_id: UUID, device_id: str) -> None:
        """Bind the device to the driver at sign-in; 409 if another driver holds it."""
        if await self.drivers.bind_device(driver_id, device_id) != driver_id:
            raise _bound_elsewhere(device_id)

    async def require_device(self, driver_id: UUID, device_id: str) -> None:
        """The device is still bound to the driver (on refresh)."""
        holder = await self.drivers.device_holder(device_id)
        if holder is None:
            raise Unauthorized("This device was released; sign in again", code="device_released")
        if holder != driver_id:
            raise _bound_elsewhere(device_id)

    async def devices(
        self, *, cursor: str | None, limit: int, driver_id: UUID | None, device_id: str | None
    ) -> Page[DeviceRead]:
        rows = await self.drivers.devices(
            after=decode_cursor(cursor), limit=limit + 1, driver_id=driver_id, device_id=device_id
        )
        return page_of([_device_read(row) for row in rows], limit, lambda device: device.id)

    async def release_device(self, device_pk: UUID) -> None:
        """Unbind a handheld (lost, or handed to someone else): its driver's sessions on it end
        now, and the next driver to sign in on it is bound to it. Acks stay per (driver,
        device), so whoever signs in next starts their own."""
        device = await self.drivers.get_device(device_pk)
        if device is None:
            raise NotFound("No such device")
        driver = await self.drivers.get(device.driver_id)
        assert driver is not None
        await SessionService(self.session).revoke_device(
            driver.user_id, device.device_id, "device_released"
        )
        await self.drivers.delete_device(device)


def _bound_elsewhere(device_id: str) -> Conflict:
    return Conflict(
        f"Device {device_id!r} is bound to another driver; dispatch can release it",
        code="device_bound_to_other_driver",
    )


def _device_read(device: Device) -> DeviceRead:
    return DeviceRead(
        id=device.id,
        device_id=device.device_id,
        driver_id=device.driver_id,
        first_seen_at=device.first_seen_at,
        last_seen_at=device.last_seen_at,
    )


def _vehicle_fields(vehicle: VehicleIn) -> dict[str, object]:
    return {
        "kind": vehicle.kind,
        "capacity_parcels": vehicle.capacity_parcels,
        "capacity_kg": vehicle.capacity_kg,
    }


def _read(row: Row) -> DriverRead:
    driver, email, vehicle = row
    return DriverRead(
        id=driver.id,
        user_id=driver.user_id,
        name=driver.name,
        email=email,
        phone=driver.phone,
        home_hub_id=driver.home_hub_id,
        employment=driver.employment,
        active=driver.active,
        vehicle=VehicleIn(
            kind=vehicle.kind,
            capacity_parcels=vehicle.capacity_parcels,
            capacity_kg=vehicle.capacity_kg,
        )
        if vehicle
        else None,
    )
