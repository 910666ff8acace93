from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from backend.auth.guards import staff_only
from backend.auth.schemas import DEVICE_ID_PATTERN
from backend.db.session import DbSession
from backend.drivers.schemas import DeviceRead, DriverCreate, DriverRead
from backend.drivers.service import DriverService
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import raises
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page


class DriverController(Controller):
    path = "/v1/drivers"
    tags = ["drivers"]
    guards = [staff_only]

    @post(
        opt=raises(
            (Conflict, "email_taken"),
            (
                Invalid,
                "unknown_hub",
                "password_too_short",
                "password_too_common",
                "password_is_email",
            ),
        )
    )
    async def create_driver(
        self, data: JSONBody[DriverCreate], db_session: DbSession
    ) -> DriverRead:
        """Create a driver together with their sign-in account (role driver)."""
        return await DriverService(db_session).create(data)

    @get()
    async def list_drivers(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        hub_id: FromQuery[UUID | None] = None,
        active: FromQuery[bool | None] = None,
    ) -> Page[DriverRead]:
        """List drivers, optionally by home hub or by whether they are active."""
        return await DriverService(db_session).page(
            cursor=cursor, limit=limit, hub_id=hub_id, active=active
        )

    @get("/{driver_id:uuid}")
    async def get_driver(self, driver_id: FromPath[UUID], db_session: DbSession) -> DriverRead:
        """One driver by id."""
        return await DriverService(db_session).get(driver_id)

    @post("/{driver_id:uuid}/deactivate", status_code=200)
    async def deactivate(self, driver_id: FromPath[UUID], db_session: DbSession) -> DriverRead:
        """Deactivate a driver: no new sign-ins, and their tokens stop working at once."""
        return await DriverService(db_session).set_active(driver_id, False)

    @post("/{driver_id:uuid}/activate", status_code=200)
    async def activate(self, driver_id: FromPath[UUID], db_session: DbSession) -> DriverRead:
        """Reactivate a driver: they may sign in again."""
        return await DriverService(db_session).set_active(driver_id, True)


class DeviceController(Controller):
    """Handhelds and the driver each is bound to (docs/security.md)."""

    path = "/v1/devices"
    tags = ["drivers"]
    guards = [staff_only]

    @get()
    async def list_devices(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        driver_id: FromQuery[UUID | None] = None,
        device_id: Annotated[
            str | None,
            Parameter(
                description="the handheld's own id", max_length=128, pattern=DEVICE_ID_PATTERN
            ),
        ] = None,
    ) -> Page[DeviceRead]:
        """List handhelds with the driver each is bound to; filter by driver or by the device's own
        id."""
        return await DriverService(db_session).devices(
            cursor=cursor, limit=limit, driver_id=driver_id, device_id=device_id
        )

    @post("/{device_pk:uuid}/release", status_code=204)
    async def release_device(self, device_pk: FromPath[UUID], db_session: DbSession) -> None:
        """Unbind a handheld from its driver: their tokens on it stop working at once, and the
        next driver to sign in on it is bound to it."""
        await DriverService(db_session).release_device(device_pk)
