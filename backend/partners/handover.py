"""Handover: dispatch gives shipments (one, or a route's remaining stops) to a partner carrier.

They leave any driver's route first (the driver's next pull removes them), then each gets a
`handed_over` event: status `with_partner`, and the carrier's key can read them.
"""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.lib.errors import NotFound
from backend.manifests.schemas import StopIn
from backend.manifests.service import RouteService
from backend.partners.schemas import HandoverRequest, RouteHandoverResult
from backend.partners.service import OrganizationService
from backend.shipments.schemas import ShipmentRead
from backend.shipments.service import FROZEN_STATUSES, ShipmentService


class HandoverService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def shipment(
        self, shipment_id: UUID, data: HandoverRequest, actor_id: UUID | None
    ) -> ShipmentRead:
        carrier = await OrganizationService(self.session).require_carrier(data.organization_id)
        shipments = ShipmentService(self.session)
        if not await shipments.statuses({shipment_id}):
            raise NotFound("No such shipment")
        await RouteService(self.session).withdraw(shipment_id)
        await shipments.hand_over([shipment_id], carrier.id, actor_id, data.reason)
        return (await shipments.read_many([shipment_id]))[0]

    async def shipments(
        self, shipment_ids: list[UUID], data: HandoverRequest, actor_id: UUID | None
    ) -> list[UUID]:
        """Several open shipments to one carrier (a disruption's recovery): each leaves its
        route, then all get their `handed_over` event. Returns them in id order."""
        carrier = await OrganizationService(self.session).require_carrier(data.organization_id)
        routes = RouteService(self.session)
        ordered = sorted(set(shipment_ids))
        for shipment_id in ordered:
            await routes.withdraw(shipment_id)
        await ShipmentService(self.session).hand_over(ordered, carrier.id, actor_id, data.reason)
        return ordered

    async def route(
        self, route_id: UUID, data: HandoverRequest, actor_id: UUID | None
    ) -> RouteHandoverResult:
        """The route's stops still to deliver go to the carrier; closed ones stay on it."""
        carrier = await OrganizationService(self.session).require_carrier(data.organization_id)
        routes = RouteService(self.session)
        stops = await routes.open_stops(route_id)  # locks the route; 404/409 as edits do
        shipments = ShipmentService(self.session)
        statuses = await shipments.statuses({stop.shipment_id for stop in stops})
        closed = [s.shipment_id for s in stops if statuses[s.shipment_id] in FROZEN_STATUSES]
        remaining = sorted(s.shipment_id for s in stops if s.shipment_id not in set(closed))
        if remaining:
            await routes.replace_stops(
                route_id, [StopIn(shipment_id=sid) for sid in closed], actor_id
            )
            await shipments.hand_over(remaining, carrier.id, actor_id, data.reason)
        return RouteHandoverResult(
            route_id=route_id, organization_id=carrier.id, shipment_ids=remaining
        )
