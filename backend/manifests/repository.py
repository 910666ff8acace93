import datetime as dt
from collections.abc import Collection, Sequence
from uuid import UUID

from sqlalchemy import Row, bindparam, exists, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Integer, Uuid

from backend.manifests.models import Route, Stop
from backend.shipments.models import Shipment

DRIVER_VISIBLE_STATUSES = ("published", "in_progress")

# One statement for any number of stops. A shipment that meanwhile got an active stop elsewhere
# (a concurrent writer) is skipped rather than raising; the caller compares what came back.
_INSERT_STOPS = text(
    """
    INSERT INTO stops (id, route_id, shipment_id, sequence, active)
    SELECT s.id, :route_id, s.shipment_id, s.sequence, true
    FROM unnest(:ids, :shipment_ids, :sequences) AS s(id, shipment_id, sequence)
    ON CONFLICT (shipment_id) WHERE active DO NOTHING
    RETURNING shipment_id
    """
).bindparams(
    bindparam("route_id", type_=Uuid()),
    bindparam("ids", type_=ARRAY(Uuid())),
    bindparam("shipment_ids", type_=ARRAY(Uuid())),
    bindparam("sequences", type_=ARRAY(Integer())),
)

_RESEQUENCE = text(
    """
    UPDATE stops SET sequence = v.sequence
    FROM unnest(:ids, :sequences) AS v(id, sequence)
    WHERE stops.id = v.id AND stops.sequence <> v.sequence
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid())), bindparam("sequences", type_=ARRAY(Integer())))


class ManifestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def driver_has_shipment(self, driver_id: UUID, shipment_id: UUID) -> bool:
        """Is the shipment on one of this driver's active stops of a published route?"""
        query = select(
            exists()
            .where(Stop.shipment_id == shipment_id, Stop.active)
            .where(Route.id == Stop.route_id)
            .where(Route.driver_id == driver_id, Route.status.in_(DRIVER_VISIBLE_STATUSES))
        )
        return bool(await self.session.scalar(query))

    # routes ----------------------------------------------------------------------------------

    async def insert_route(self, *, driver_id: UUID, hub_id: UUID, date: dt.date) -> Route:
        statement = (
            insert(Route)
            .values(driver_id=driver_id, hub_id=hub_id, date=date, status="draft")
            .returning(Route)
        )
        route = await self.session.scalar(statement)
        assert route is not None
        return route

    async def route(self, route_id: UUID, *, for_update: bool = False) -> Route | None:
        query = select(Route).where(Route.id == route_id).execution_options(populate_existing=True)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def page_routes(
        self,
        *,
        after: UUID | None,
        limit: int,
        driver_id: UUID | None,
        hub_id: UUID | None,
        date: dt.date | None,
        statuses: Collection[str] | None,
    ) -> Sequence[Route]:
        query = select(Route).order_by(Route.id).limit(limit)
        if after:
            query = query.where(Route.id > after)
        if driver_id:
            query = query.where(Route.driver_id == driver_id)
        if hub_id:
            query = query.where(Route.hub_id == hub_id)
        if date:
            query = query.where(Route.date == date)
        if statuses is not None:
            query = query.where(Route.status.in_(statuses))
        return (await self.session.scalars(query)).all()

    # stops -----------------------------------------------------------------------------------

    async def active_stops(self, route_ids: Sequence[UUID]) -> Sequence[Row]:
        """`(id, route_id, shipment_id, sequence, eta)` of the routes' active stops, in order."""
        query = (
            select(Stop.id, Stop.route_id, Stop.shipment_id, Stop.sequence, Stop.eta)
            .where(Stop.route_id.in_(route_ids), Stop.active)
            .order_by(Stop.route_id, Stop.sequence)
        )
        return (await self.session.execute(query)).all()

    async def stops_elsewhere(
        self, shipment_ids: Sequence[UUID], route_id: UUID | None
    ) -> dict[UUID, UUID]:
        """Shipment id -> the (other) route on which it has an active stop."""
        if not shipment_ids:
            return {}
        query = select(Stop.shipment_id, Stop.route_id).where(
            Stop.shipment_id.in_(shipment_ids), Stop.active
        )
        if route_id:
            query = query.where(Stop.route_id != route_id)
        return {row.shipment_id: row.route_id for row in await self.session.execute(query)}

    async def insert_stops(
        self, route_id: UUID, stops: Sequence[tuple[UUID, UUID, int]]
    ) -> set[UUID]:
        """Insert `(stop_id, shipment_id, sequence)` rows; returns the shipments that got one."""
        if not stops:
            return set()
        ids, shipment_ids, sequences = (list(column) for column in zip(*stops, strict=True))
        result = await self.session.execute(
            _INSERT_STOPS,
            {
                "route_id": route_id,
                "ids": ids,
                "shipment_ids": shipment_ids,
                "sequences": sequences,
            },
        )
        return {row[0] for row in result}

    async def deactivate_stops(self, stop_ids: Sequence[UUID]) -> None:
        if stop_ids:
            await self.session.execute(
                update(Stop).where(Stop.id.in_(stop_ids)).values(active=False),
                execution_options={"synchronize_session": False},
            )

    async def resequence(self, sequences: Sequence[tuple[UUID, int]]) -> None:
        """Set `(stop_id, sequence)` pairs in one statement, touching only rows that move."""
        if sequences:
            ids, numbers = (list(column) for column in zip(*sequences, strict=True))
            await self.session.execute(_RESEQUENCE, {"ids": ids, "sequences": numbers})

    # shipments (read under lock; their rows are written through ShipmentService) -------------

    async def lock_shipment_statuses(self, shipment_ids: Sequence[UUID]) -> dict[UUID, str]:
        """Lock the shipments in id order (no deadlocks between writers); id -> status."""
        if not shipment_ids:
            return {}
        query = (
            select(Shipment.id, Shipment.status)
            .where(Shipment.id.in_(shipment_ids))
            .order_by(Shipment.id)
            .with_for_update()
        )
        return {row.id: row.status for row in await self.session.execute(query)}
