from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.lib.clock import is_time_zone
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.geo import area_from_db, area_km2, point_from_db, to_db
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.network.models import Hub, PickupPoint, Zone
from backend.network.repository import NetworkRepository
from backend.network.schemas import (
    HubCreate,
    HubRead,
    PickupPointCreate,
    PickupPointRead,
    ZoneCreate,
    ZoneRead,
)


class NetworkService:
    def __init__(self, session: AsyncSession, *, max_zone_area_km2: float | None = None) -> None:
        """`max_zone_area_km2` bounds the zones dispatch draws (none when left out)."""
        self.repo = NetworkRepository(session)
        self.max_zone_area_km2 = max_zone_area_km2

    async def create_hub(self, data: HubCreate) -> HubRead:
        if await self.repo.hub_by_code(data.code):
            raise Conflict(f"Hub code {data.code} is taken", code="hub_code_taken")
        if not is_time_zone(data.time_zone):
            raise Invalid(f"Unknown time zone {data.time_zone!r}", field="time_zone")
        hub = Hub(
            name=data.name,
            code=data.code,
            location=to_db(data.location),
            address=data.address,
            time_zone=data.time_zone,
        )
        return hub_read(await self.repo.add(hub))

    async def get_hub(self, hub_id: UUID) -> HubRead:
        hub = await self.repo.get(Hub, hub_id)
        if hub is None:
            raise NotFound("No such hub")
        return hub_read(hub)

    async def list_hubs(self, *, cursor: str | None, limit: int) -> Page[HubRead]:
        hubs = await self.repo.page(Hub, after=decode_cursor(cursor), limit=limit + 1)
        return page_of([hub_read(hub) for hub in hubs], limit, lambda hub: hub.id)

    async def require_hub(self, hub_id: UUID, *, field: str = "hub_id") -> Hub:
        hub = await self.repo.get(Hub, hub_id)
        if hub is None:
            raise Invalid("No such hub", field=field, code="unknown_hub")
        return hub

    async def require_zone(self, zone_id: UUID, *, field: str = "zone_id") -> Zone:
        zone = await self.repo.get(Zone, zone_id)
        if zone is None:
            raise Invalid("No such zone", field=field, code="unknown_zone")
        return zone

    async def create_zone(self, data: ZoneCreate) -> ZoneRead:
        if self.max_zone_area_km2 is not None:
            area = area_km2(data.area)
            if area > self.max_zone_area_km2:
                raise Invalid(
                    f"area: {area:,.0f} km² is more than a zone may cover "
                    f"({self.max_zone_area_km2:,.0f} km²)",
                    field="area",
                    code="zone_too_large",
                )
        await self.require_hub(data.hub_id)
        zone = Zone(name=data.name, hub_id=data.hub_id, area=to_db(data.area))
        return zone_read(await self.repo.add(zone))

    async def list_zones(
        self, *, cursor: str | None, limit: int, hub_id: UUID | None
    ) -> Page[ZoneRead]:
        zones = await self.repo.page(
            Zone, after=decode_cursor(cursor), limit=limit + 1, hub_id=hub_id
        )
        return page_of([zone_read(zone) for zone in zones], limit, lambda zone: zone.id)

    async def create_pickup_point(self, data: PickupPointCreate) -> PickupPointRead:
        if data.hub_id:
            await self.require_hub(data.hub_id)
        point = PickupPoint(
            name=data.name,
            location=to_db(data.location),
            hub_id=data.hub_id,
            opening_hours=data.opening_hours,
        )
        return pickup_point_read(await self.repo.add(point))

    async def list_pickup_points(
        self, *, cursor: str | None, limit: int, hub_id: UUID | None
    ) -> Page[PickupPointRead]:
        points = await self.repo.page(
            PickupPoint, after=decode_cursor(cursor), limit=limit + 1, hub_id=hub_id
        )
        return page_of([pickup_point_read(p) for p in points], limit, lambda point: point.id)

    async def zone_for(self, lon: float, lat: float, hub_id: UUID | None) -> UUID | None:
        return await self.repo.zone_containing(lon, lat, hub_id)


def hub_read(hub: Hub) -> HubRead:
    return HubRead(
        id=hub.id,
        name=hub.name,
        code=hub.code,
        location=point_from_db(hub.location),
        address=hub.address,
        time_zone=hub.time_zone,
    )


def zone_read(zone: Zone) -> ZoneRead:
    return ZoneRead(id=zone.id, name=zone.name, hub_id=zone.hub_id, area=area_from_db(zone.area))


def pickup_point_read(point: PickupPoint) -> PickupPointRead:
    return PickupPointRead(
        id=point.id,
        name=point.name,
        location=point_from_db(point.location),
        hub_id=point.hub_id,
        opening_hours=point.opening_hours,
    )
