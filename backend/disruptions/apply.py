"""Applying a recovery plan to the live day: routes changed through `RouteService` (so every
driver's next pull carries the change), spare drivers given a published route, the affected
shipments' history told why, and their recipients told the new window or the new day."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.disruptions.models import Disruption
from backend.disruptions.repository import OPEN_STATUSES, DisruptionRepository
from backend.lib.clock import utcnow
from backend.manifests.schemas import RouteCreate, StopIn
from backend.manifests.service import RouteService
from backend.notifications.service import NotificationService
from backend.planning.models import Plan
from backend.shipments.service import ShipmentService


class RecoveryApplier:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.routes = RouteService(session)

    async def apply(self, disruption: Disruption, plan: Plan, actor_id: UUID | None) -> None:
        planned = {
            UUID(r["driver_id"]): [UUID(s["shipment_id"]) for s in r["stops"]]
            for r in (plan.result or {}).get("routes", [])
        }
        arrival = {
            UUID(s["shipment_id"]): s["start"]
            for r in (plan.result or {}).get("routes", [])
            for s in r["stops"]
        }
        current = await self._current(disruption)
        home = {sid: driver for driver, sids in planned.items() for sid in sids}
        # First every route lets go of what moves elsewhere (a shipment is on one active stop),
        # then each planned route takes its new order after the stops already done.
        for driver, (route_id, items) in current.items():
            keep = [
                sid
                for sid, status in items
                if status not in OPEN_STATUSES or home.get(sid) == driver
            ]
            if len(keep) != len(items):
                await self.routes.replace_stops(route_id, _stops(keep), actor_id)
        for driver, sids in planned.items():
            if driver in current:
                route_id, items = current[driver]
                done = [sid for sid, status in items if status not in OPEN_STATUSES]
                await self.routes.replace_stops(route_id, _stops(done + sids), actor_id)
            else:
                route = await self.routes.create(
                    RouteCreate(
                        driver_id=driver,
                        hub_id=disruption.hub_id,
                        date=disruption.date,
                        stops=_stops(sids),
                    ),
                    actor_id,
                )
                await self.routes.publish(route.id, actor_id)
        await self._tell(disruption, home, arrival, actor_id)
        disruption.status = "applied"
        disruption.applied_at = utcnow()
        disruption.applied_by = actor_id
        plan.applied_at = disruption.applied_at
        await self.session.flush()

    async def _current(
        self, disruption: Disruption
    ) -> dict[UUID, tuple[UUID, list[tuple[UUID, str]]]]:
        """Each driver's route of the day with its shipments and statuses, in stop order."""
        current: dict[UUID, tuple[UUID, list[tuple[UUID, str]]]] = {}
        for stop in await DisruptionRepository(self.session).day_stops(
            disruption.hub_id, disruption.date
        ):
            current.setdefault(stop.driver_id, (stop.route_id, []))[1].append(
                (stop.shipment_id, stop.status)
            )
        return current

    async def _tell(
        self,
        disruption: Disruption,
        home: dict[UUID, UUID],
        arrival: dict[UUID, str],
        actor_id: UUID | None,
    ) -> None:
        affected = [UUID(s) for s in disruption.affected.get("shipment_ids", [])]
        moved = sorted(s for s in affected if s in home)
        dropped = sorted(s for s in affected if s not in home)
        why = {"disruption_id": str(disruption.id), "kind": disruption.kind}
        shipments = ShipmentService(self.session)
        if moved:
            await shipments.record(moved, "recovery_rerouted", actor_id=actor_id, data=why)
        if dropped:
            await shipments.record(dropped, "recovery_rescheduled", actor_id=actor_id, data=why)
        notifications = NotificationService(self.session)
        for sid in moved:
            await notifications.request(sid, "rerouted", {"disruption": True, "eta": arrival[sid]})
        for sid in dropped:
            await notifications.request(sid, "rerouted", {"disruption": True, "rescheduled": True})


def _stops(shipment_ids: list[UUID]) -> list[StopIn]:
    return [StopIn(shipment_id=sid) for sid in shipment_ids]
