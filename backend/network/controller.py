from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import staff_only
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import raises
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.network.schemas import (
    HubCreate,
    HubRead,
    PickupPointCreate,
    PickupPointRead,
    ZoneCreate,
    ZoneRead,
)
from backend.network.service import NetworkService


class NetworkController(Controller):
    path = "/v1"
    tags = ["network"]
    guards = [staff_only]

    @post("/hubs", opt=raises((Conflict, "hub_code_taken"), Invalid))
    async def create_hub(self, data: JSONBody[HubCreate], db_session: DbSession) -> HubRead:
        """Create a hub: a depot with a unique `code`, a point and an IANA time zone (its delivery
        days are counted in it). A taken code is 409 `hub_code_taken`; an unknown time
        zone 422."""
        return await NetworkService(db_session).create_hub(data)

    @get("/hubs")
    async def list_hubs(
        self, db_session: DbSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[HubRead]:
        """List hubs, a page at a time."""
        return await NetworkService(db_session).list_hubs(cursor=cursor, limit=limit)

    @get("/hubs/{hub_id:uuid}")
    async def get_hub(self, hub_id: FromPath[UUID], db_session: DbSession) -> HubRead:
        """One hub by id."""
        return await NetworkService(db_session).get_hub(hub_id)

    @post("/zones", opt=raises((Invalid, "unknown_hub", "zone_too_large")))
    async def create_zone(
        self,
        data: JSONBody[ZoneCreate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> ZoneRead:
        """Create a delivery zone.

        A polygon or multipolygon of at most `LASTMILE_ZONE_MAX_AREA_KM2`; one crossing the
        antimeridian is cut there into a MultiPolygon (RFC 7946 §3.1.9)."""
        service = NetworkService(db_session, max_zone_area_km2=settings.zone_max_area_km2)
        return await service.create_zone(data)

    @get("/zones")
    async def list_zones(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        hub_id: FromQuery[UUID | None] = None,
    ) -> Page[ZoneRead]:
        """List delivery zones, optionally those of one hub. A shipment's zone is the one
        containing its delivery point."""
        return await NetworkService(db_session).list_zones(
            cursor=cursor, limit=limit, hub_id=hub_id
        )

    @post("/pickup-points", opt=raises((Invalid, "unknown_hub")))
    async def create_pickup_point(
        self, data: JSONBody[PickupPointCreate], db_session: DbSession
    ) -> PickupPointRead:
        """Create a pickup point (a shop or locker recipients may redirect a parcel to), attached
        to a hub."""
        return await NetworkService(db_session).create_pickup_point(data)

    @get("/pickup-points")
    async def list_pickup_points(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        hub_id: FromQuery[UUID | None] = None,
    ) -> Page[PickupPointRead]:
        """List pickup points, optionally those of one hub."""
        return await NetworkService(db_session).list_pickup_points(
            cursor=cursor, limit=limit, hub_id=hub_id
        )
