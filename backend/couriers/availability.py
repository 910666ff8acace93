"""A courier's own availability and online status (`/v1/couriers/me`)."""

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.couriers.models import CourierProfile
from backend.couriers.repository import CourierRepository
from backend.couriers.schemas import AvailabilitySlot, CourierStatus
from backend.couriers.views import slots
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, NotFound
from backend.lib.geo import Point, point_from_db


class AvailabilityService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = CourierRepository(session)

    async def _profile(self, principal: Principal) -> CourierProfile:
        """The caller's courier profile; employees and everyone else have none (404)."""
        profile = await self.repo.profile(principal.driver_id) if principal.driver_id else None
        if profile is None:
            raise NotFound("You are not a courier")
        return profile

    async def me(self, principal: Principal) -> CourierStatus:
        profile = await self._profile(principal)
        application = await self.repo.application(profile.application_id)
        assert application is not None  # the foreign key holds it
        await self.session.refresh(profile)
        return CourierStatus(
            driver_id=profile.driver_id,
            application_id=profile.application_id,
            status=application.status,  # type: ignore[arg-type]
            online=profile.online,
            online_since=profile.online_since,
            position=point_from_db(profile.position),
            availability=slots(profile.availability),
        )

    async def set_availability(
        self, principal: Principal, availability: list[AvailabilitySlot]
    ) -> CourierStatus:
        profile = await self._profile(principal)
        profile.availability = msgspec.to_builtins(availability)
        await self.repo.flush()
        return await self.me(principal)

    async def go_online(self, principal: Principal, position: Point) -> CourierStatus:
        profile = await self._profile(principal)
        application = await self.repo.application(profile.application_id)
        if application is None or application.status != "active":
            status = application.status if application else "unknown"
            raise Conflict(
                f"Your courier account is {status}; only active couriers go online",
                code="courier_not_active",
                errors=[{"field": "status", "message": status}],
            )
        await self.repo.set_online(profile.driver_id, position.lon, position.lat, utcnow())
        return await self.me(principal)

    async def go_offline(self, principal: Principal) -> CourierStatus:
        profile = await self._profile(principal)
        await self.repo.set_online(profile.driver_id, None, None, None)
        return await self.me(principal)
