from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import staff_only
from backend.config import Settings
from backend.db.session import DbSession
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

    @post("/hubs")
    async def create_hub(self, data: JSONBody[HubCreate], db_session: DbSession) -> HubRead:
        return await NetworkService(db_session).create_hub(data)

    @get("/hubs")
    async def list_hubs(
        self, db_session: DbSession, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[HubRead]:
        return await NetworkService(db_session).list_hubs(cursor=cursor, limit=limit)

    @get("/hubs/{hub_id:uuid}")
    async def get_hub(self, hub_id: FromPath[UUID], db_session: DbSession) -> HubRead:
        return await NetworkService(db_session).get_hub(hub_id)

    @post("/zones")
    async def create_zone(
        self,
        data: JSONBody[ZoneCreate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
    ) -> ZoneRead:
        """A polygon or multipolygon of at most `LASTMILE_ZONE_MAX_AREA_KM2`; one crossing the
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
        return await NetworkService(db_session).list_zones(
            cursor=cursor, limit=limit, hub_id=hub_id
        )

    @post("/pickup-points")
    async def create_pickup_point(
        self, data: JSONBody[PickupPointCreate], db_session: DbSession
    ) -> PickupPointRead:
        return await NetworkService(db_session).create_pickup_point(data)

    @get("/pickup-points")
    async def list_pickup_points(
        self,
        db_session: DbSession,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        hub_id: FromQuery[UUID | None] = None,
    ) -> Page[PickupPointRead]:
        return await NetworkService(db_session).list_pickup_points(
            cursor=cursor, limit=limit, hub_id=hub_id
        )
