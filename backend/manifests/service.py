"""Routes: a driver's ordered stops for a day, built and changed by dispatch.

Putting a shipment on a route, taking it off and handing the route to another driver are events
on the shipments (`assigned` / `unassigned`), recorded through `ShipmentService`. Every change to
a route goes through `_changed`, the one place that will record manifest changes for sync.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from uuid import UUID

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.drivers.service import DriverService
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid, NotFound
from backend.lib.ids import uuid7
from backend.lib.pagination import Page, decode_cursor, page_of
from backend.lib.plausible import Plausible
from backend.manifests.models import Route
from backend.manifests.repository import DRIVER_VISIBLE_STATUSES, ManifestRepository
from backend.manifests.schemas import RouteCreate, RouteRead, StopIn, StopRead
from backend.network.service import NetworkService
from backend.shipments.service import ShipmentService
from backend.sync.changes import ChangeSpec, ManifestChangeLog
from backend.webhooks.service import WebhookService

CLOSED_ROUTE_STATUSES = ("completed", "cancelled")
# Drafts are dispatch's workbench; a driver sees a route once it is published.
DRIVER_ROUTE_STATUSES = ("published", "in_progress", "completed")
# Shipments in these states cannot be put on a route.
UNROUTABLE_STATUSES = ("delivered", "returned", "cancelled")


class RouteService:
    def __init__(self, session: AsyncSession, *, plausible: Plausible | None = None) -> None:
        """`plausible` bounds the dates dispatch gives new routes."""
        self.session = session
        self.repo = ManifestRepository(session)
        self.plausible = plausible

    # reads -----------------------------------------------------------------------------------

    async def get(self, route_id: UUID, principal: Principal) -> RouteRead:
        """Staff see every route; a driver only their own, once published (else 404)."""
        route = await self.repo.route(route_id)
        if route is None or not _visible(route, principal):
            raise NotFound("No such route")
        return (await self._read([route]))[0]

    async def page(
        self,
        principal: Principal,
        *,
        cursor: str | None,
        limit: int,
        date: dt.date | None = None,
        driver_id: UUID | None = None,
        hub_id: UUID | None = None,
        status: str | None = None,
    ) -> Page[RouteRead]:
        """Staff filter freely; a driver's list is always their own published routes."""
        statuses: tuple[str, ...] | None = (status,) if status else None
        if not principal.is_staff:
            if principal.driver_id is None:
                return Page(items=[], next_cursor=None)
            driver_id = principal.driver_id
            statuses = tuple(
                s for s in statuses or DRIVER_ROUTE_STATUSES if s in DRIVER_ROUTE_STATUSES
            )
        routes = await self.repo.page_routes(
            after=decode_cursor(cursor),
            limit=limit + 1,
            driver_id=driver_id,
            hub_id=hub_id,
            date=date,
            statuses=statuses,
        )
        return page_of(await self._read(routes), limit, lambda route: route.id)

    async def of_driver_day(self, driver_id: UUID, hub_id: UUID, date: dt.date) -> list[Route]:
        """The driver's active routes (draft, published, in progress) at the hub that day."""
        return list(
            await self.repo.page_routes(
                after=None,
                limit=10,
                driver_id=driver_id,
                hub_id=hub_id,
                date=date,
                statuses=("draft", "published", "in_progress"),
            )
        )

    # changes ---------------------------------------------------------------------------------

    async def create(self, data: RouteCreate, actor_id: UUID | None) -> RouteRead:
        """A draft route for a driver, with its stops in the given order."""
        if self.plausible:
            self.plausible.check_date(data.date, "date")
        shipment_ids = _unique_shipments(data.stops)
        await DriverService(self.session).require(data.driver_id)
        await NetworkService(self.session).require_hub(data.hub_id)
        added = list(enumerate(shipment_ids))
        await self._check_routable(added, None)
        route = await self.repo.insert_route(
            driver_id=data.driver_id, hub_id=data.hub_id, date=data.date
        )
        await self._add_stops(route, added, actor_id)
        await self._changed(route, {})  # a draft: no driver sees it yet
        return (await self._read([route]))[0]

    async def replace_stops(
        self, route_id: UUID, stops: Sequence[StopIn], actor_id: UUID | None
    ) -> RouteRead:
        """Make the route's stops exactly `stops`, in that order, in one go.

        Shipments that stay keep their stop (and its id); new ones get a stop; the stops of
        shipments left out are deactivated. Sequences become 1..n.
        """
        desired = _unique_shipments(stops)
        route = await self._editable(route_id)
        current = {row.shipment_id: row for row in await self.repo.active_stops([route.id])}
        added = [(i, sid) for i, sid in enumerate(desired) if sid not in current]
        kept = set(desired)
        removed = [row for sid, row in current.items() if sid not in kept]
        await self._check_routable(added, route.id, also_lock=[row.shipment_id for row in removed])
        moved = [
            (current[sid].id, i + 1)
            for i, sid in enumerate(desired)
            if sid in current and current[sid].sequence != i + 1
        ]
        if not (added or removed or moved):
            return (await self._read([route]))[0]
        await self.repo.deactivate_stops([row.id for row in removed])
        await self.repo.resequence(moved)
        await self._add_stops(route, added, actor_id)
        if removed:
            await ShipmentService(self.session).record(
                sorted(row.shipment_id for row in removed),
                "unassigned",
                actor_id=actor_id,
                data={"route_id": str(route.id)},
            )
        changes: list[ChangeSpec] = [
            change for row in removed for change in _stop_changes(row, "remove")
        ]
        if added or moved:
            now_active = await self.repo.active_stops([route.id])
            new_ids = {sid for _, sid in added}
            moved_ids = {stop_id for stop_id, _ in moved}
            changes += [("stop", row.id, "upsert") for row in now_active if row.id in moved_ids]
            changes += [
                c
                for row in now_active
                if row.shipment_id in new_ids
                for c in _stop_changes(row, "upsert")
            ]
        await self._changed(route, {route.driver_id: changes})
        return (await self._read([route]))[0]

    async def reassign(self, route_id: UUID, driver_id: UUID, actor_id: UUID | None) -> RouteRead:
        """Hand the route, with all its stops, to another (active) driver."""
        route = await self._editable(route_id)
        await DriverService(self.session).require(driver_id)
        if route.driver_id == driver_id:
            return (await self._read([route]))[0]
        shipment_ids = sorted(row.shipment_id for row in await self.repo.active_stops([route.id]))
        if shipment_ids:
            await ShipmentService(self.session).record(
                shipment_ids,
                "assigned",
                actor_id=actor_id,
                data={"route_id": str(route.id), "driver_id": str(driver_id)},
            )
        stops = await self.repo.active_stops([route.id])
        previous, route.driver_id = route.driver_id, driver_id
        await self._changed(
            route,
            {
                previous: _route_changes(route, stops, "remove"),
                driver_id: _route_changes(route, stops, "upsert"),
            },
        )
        return (await self._read([route]))[0]

    async def publish(self, route_id: UUID, actor_id: UUID | None) -> RouteRead:
        """draft -> published: the driver can now see it. Publishing again changes nothing."""
        route = await self.repo.route(route_id, for_update=True)
        if route is None:
            raise NotFound("No such route")
        if route.status == "cancelled":
            raise Conflict("The route is cancelled", code="route_closed")
        if route.status == "draft":
            stops = await self.repo.active_stops([route.id])
            route.status = "published"
            route.published_at = utcnow()
            await self._changed(route, {route.driver_id: _route_changes(route, stops, "upsert")})
            data = {
                "route_id": str(route.id),
                "driver_id": str(route.driver_id),
                "hub_id": str(route.hub_id),
                "date": route.date.isoformat(),
                "stops": len(stops),
            }
            await WebhookService(self.session).announce("route.published", [(data, None)])
        return (await self._read([route]))[0]

    async def open_stops(self, route_id: UUID) -> Sequence[Row]:
        """The route's active stops in order, its row locked for a change (404 / 409 as for
        any edit)."""
        route = await self._editable(route_id)
        return await self.repo.active_stops([route.id])

    async def withdraw(self, shipment_id: UUID) -> UUID | None:
        """Take a shipment off its active route (its recipient rescheduled it or sent it to a
        pickup point): its stop goes, the others close up, and the driver's next pull removes
        it. Returns the route it left, or None when it was on none."""
        route_id = (await self.repo.stops_elsewhere([shipment_id], None)).get(shipment_id)
        if route_id is None:
            return None
        # Lock the route before reading its stops, as every route writer does (route, then
        # shipments): a stop a dispatcher adds meanwhile is then seen, not dropped.
        await self.repo.route(route_id, for_update=True)
        staying = [
            StopIn(shipment_id=row.shipment_id)
            for row in await self.repo.active_stops([route_id])
            if row.shipment_id != shipment_id
        ]
        await self.replace_stops(route_id, staying, actor_id=None)
        return route_id

    # internals -------------------------------------------------------------------------------

    async def _changed(self, route: Route, changes: Mapping[UUID, list[ChangeSpec]]) -> None:
        """Every mutation of a route ends here: it records what each affected driver's manifest
        gained or lost, which is what their next sync pull returns. Changes to a route no driver
        can see (a draft) are not recorded.

        Set the route's own attributes just before calling this: the flush here must be the one
        that writes them, so `updated_at` is ours and not expired by the column's `onupdate`."""
        route.updated_at = utcnow()
        await self.session.flush()
        if route.status in DRIVER_VISIBLE_STATUSES:
            await ManifestChangeLog(self.session).record_many(changes)

    async def _editable(self, route_id: UUID) -> Route:
        route = await self.repo.route(route_id, for_update=True)
        if route is None:
            raise NotFound("No such route")
        if route.status in CLOSED_ROUTE_STATUSES:
            raise Conflict(
                f"The route is {route.status}; it can no longer change", code="route_closed"
            )
        return route

    async def _check_routable(
        self,
        added: Sequence[tuple[int, UUID]],
        route_id: UUID | None,
        *,
        also_lock: Sequence[UUID] = (),
    ) -> None:
        """Lock the shipments being added (and `also_lock`) in one read ordered by id, then
        refuse unknown, closed or already routed ones. `added` is `(position, shipment_id)`,
        the position being where the shipment sits in the request's `stops` list."""
        statuses = await self.repo.lock_shipment_statuses(
            sorted({sid for _, sid in added} | set(also_lock))
        )
        unknown = [position for position, sid in added if sid not in statuses]
        if unknown:
            raise _invalid("No such shipment", "unknown_shipment", unknown)
        closed = [position for position, sid in added if statuses[sid] in UNROUTABLE_STATUSES]
        if closed:
            raise _conflict(
                "A delivered, returned or cancelled shipment cannot be put on a route",
                "shipment_closed",
                closed,
            )
        elsewhere = await self.repo.stops_elsewhere([sid for _, sid in added], route_id)
        taken = [position for position, sid in added if sid in elsewhere]
        if taken:
            raise _taken(taken)

    async def _add_stops(
        self, route: Route, added: Sequence[tuple[int, UUID]], actor_id: UUID | None
    ) -> None:
        """Insert stops for `(position, shipment_id)` pairs and record `assigned` on them."""
        if not added:
            return
        inserted = await self.repo.insert_stops(
            route.id, [(uuid7(), sid, position + 1) for position, sid in added]
        )
        lost = [position for position, sid in added if sid not in inserted]
        if lost:  # another writer put the shipment on a route after our check
            raise _taken(lost)
        await ShipmentService(self.session).record(
            sorted(sid for _, sid in added),
            "assigned",
            actor_id=actor_id,
            data={"route_id": str(route.id), "driver_id": str(route.driver_id)},
        )

    async def _read(self, routes: Sequence[Route]) -> list[RouteRead]:
        stops: dict[UUID, list[Row]] = {}
        for row in await self.repo.active_stops([route.id for route in routes]):
            stops.setdefault(row.route_id, []).append(row)
        return [route_read(route, stops.get(route.id, [])) for route in routes]


def _visible(route: Route, principal: Principal) -> bool:
    if principal.is_staff:
        return True
    return (
        principal.driver_id is not None
        and route.driver_id == principal.driver_id
        and route.status in DRIVER_ROUTE_STATUSES
    )


def _unique_shipments(stops: Sequence[StopIn]) -> list[UUID]:
    seen: set[UUID] = set()
    duplicates: list[int] = []
    for position, stop in enumerate(stops):
        if stop.shipment_id in seen:
            duplicates.append(position)
        seen.add(stop.shipment_id)
    if duplicates:
        raise _invalid("The shipment is already in this list", "duplicate_shipment", duplicates)
    return [stop.shipment_id for stop in stops]


def _field_errors(message: str, positions: Sequence[int]) -> list[dict[str, str]]:
    return [{"field": f"stops[{p}].shipment_id", "message": message} for p in positions]


def _invalid(message: str, code: str, positions: Sequence[int]) -> Invalid:
    error = Invalid(message, code=code)
    error.errors = _field_errors(message, positions)
    return error


def _conflict(message: str, code: str, positions: Sequence[int]) -> Conflict:
    return Conflict(message, code=code, errors=_field_errors(message, positions))


def _taken(positions: Sequence[int]) -> Conflict:
    return _conflict(
        "The shipment is already on another active route", "shipment_on_other_route", positions
    )


def route_read(route: Route, stops: Sequence[Row]) -> RouteRead:
    return RouteRead(
        id=route.id,
        driver_id=route.driver_id,
        hub_id=route.hub_id,
        date=route.date,
        status=route.status,
        published_at=route.published_at,
        stops=[
            StopRead(id=s.id, shipment_id=s.shipment_id, sequence=s.sequence, eta=s.eta)
            for s in stops
        ],
        created_at=route.created_at,
        updated_at=route.updated_at,
    )


def _stop_changes(stop: Row, op: str) -> list[ChangeSpec]:
    """A stop and its shipment come and go together in a driver's manifest."""
    return [("stop", stop.id, op), ("shipment", stop.shipment_id, op)]


def _route_changes(route: Route, stops: Sequence[Row], op: str) -> list[ChangeSpec]:
    return [("route", route.id, op), *(c for stop in stops for c in _stop_changes(stop, op))]
