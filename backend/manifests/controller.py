import datetime as dt
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from backend.auth.guards import requires, staff_only
from backend.auth.schemas import Principal
from backend.config import Settings
from backend.db.session import DbSession
from backend.lib.errors import Conflict, Invalid
from backend.lib.openapi import raises
from backend.lib.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from backend.lib.plausible import Plausible
from backend.manifests.schemas import (
    RouteCreate,
    RouteRead,
    RouteReassign,
    RouteStatus,
    RouteStopsUpdate,
)
from backend.manifests.service import RouteService

staff_or_driver = requires("admin", "dispatcher", "driver")


class RouteController(Controller):
    path = "/v1/routes"
    tags = ["routes"]

    @post(
        guards=[staff_only],
        opt=raises(
            (Invalid, "implausible_date", "unknown_driver", "driver_inactive", "unknown_hub"),
            (Conflict, "shipment_closed", "shipment_on_other_route"),
            (Invalid, "unknown_shipment", "duplicate_shipment"),
        ),
    )
    async def create_route(
        self,
        data: JSONBody[RouteCreate],
        db_session: DbSession,
        settings: NamedDependency[Settings],
        request: Request[Principal, Any, Any],
    ) -> RouteRead:
        """Create a draft route for a driver and day.

        A draft route; each shipment gets an `assigned` event. Its date lies within
        `LASTMILE_PLAUSIBLE_DAYS` of today."""
        service = RouteService(db_session, plausible=Plausible.from_settings(settings))
        return await service.create(data, request.user.user_id)

    @get(guards=[staff_or_driver])
    async def list_routes(
        self,
        db_session: DbSession,
        request: Request[Principal, Any, Any],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        date: FromQuery[dt.date | None] = None,
        driver_id: FromQuery[UUID | None] = None,
        hub_id: FromQuery[UUID | None] = None,
        status: FromQuery[RouteStatus | None] = None,
    ) -> Page[RouteRead]:
        """Drivers always get their own published routes, whatever the filters say."""
        return await RouteService(db_session).page(
            request.user,
            cursor=cursor,
            limit=limit,
            date=date,
            driver_id=driver_id,
            hub_id=hub_id,
            status=status,
        )

    @get("/{route_id:uuid}", guards=[staff_or_driver])
    async def get_route(
        self,
        route_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> RouteRead:
        """One route with its stops in order. A driver sees only routes assigned to them (any other
        id is 404)."""
        return await RouteService(db_session).get(route_id, request.user)

    @put(
        "/{route_id:uuid}/stops",
        guards=[staff_only],
        opt=raises(
            (Conflict, "route_closed"),
            (Conflict, "shipment_closed", "shipment_on_other_route"),
            (Invalid, "unknown_shipment", "duplicate_shipment"),
        ),
    )
    async def replace_stops(
        self,
        route_id: FromPath[UUID],
        data: JSONBody[RouteStopsUpdate],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> RouteRead:
        """Add, remove and reorder in one call: `stops` is the full desired order."""
        return await RouteService(db_session).replace_stops(
            route_id, data.stops, request.user.user_id
        )

    @post(
        "/{route_id:uuid}/reassign",
        guards=[staff_only],
        status_code=200,
        opt=raises((Conflict, "route_closed"), (Invalid, "unknown_driver", "driver_inactive")),
    )
    async def reassign(
        self,
        route_id: FromPath[UUID],
        data: JSONBody[RouteReassign],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> RouteRead:
        """Give the route to another driver. The previous driver's next pull removes its stops; the
        new driver's adds them."""
        return await RouteService(db_session).reassign(
            route_id, data.driver_id, request.user.user_id
        )

    @post(
        "/{route_id:uuid}/publish",
        guards=[staff_only],
        status_code=200,
        opt=raises((Conflict, "route_closed")),
    )
    async def publish(
        self,
        route_id: FromPath[UUID],
        db_session: DbSession,
        request: Request[Principal, Any, Any],
    ) -> RouteRead:
        """Publish a route: its driver's next pull delivers it.

        draft -> published; publishing a published route again answers it unchanged."""
        return await RouteService(db_session).publish(route_id, request.user.user_id)
