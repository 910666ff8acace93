"""Applying a recovery plan to the live day: routes changed through `RouteService` (so every
driver's next pull carries the change), spare drivers given a published route, couriers offered
their work (`OfferService`: the courier accepts it, or it expires into an incident), the stops
no vehicle takes handed over to the hub's partner carrier (`HandoverService`), the affected
shipments' history told why, and their recipients told the new window or the new day."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.disruptions.models import Disruption
from backend.disruptions.repository import OPEN_STATUSES, DisruptionRepository
from backend.lib.clock import utcnow
from backend.lib.errors import Conflict, Invalid
from backend.manifests.schemas import RouteCreate, StopIn
from backend.manifests.service import RouteService
from backend.notifications.service import NotificationService
from backend.offers.schemas import OfferCreate, Pay
from backend.offers.service import OfferService
from backend.partners.handover import HandoverService
from backend.partners.schemas import HandoverRequest
from backend.partners.service import OrganizationService
from backend.planning.models import Plan
from backend.shipments.service import ShipmentService

# How long a courier has to accept the work a recovery offers them; then dispatch gets an
# `offer_expired` incident.
RESCUE_OFFER_TTL = dt.timedelta(minutes=15)


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
        terms = (plan.result or {}).get("rescue", {})
        couriers = {UUID(c): pay for c, pay in terms.get("couriers", {}).items()}
        for driver, sids in planned.items():
            if driver in couriers:
                continue  # offered below, once every route has let go of it
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
        for courier, pay in couriers.items():
            if not await self._offer(courier, pay, planned.get(courier, []), actor_id):
                home = {sid: d for sid, d in home.items() if d != courier}
        handed = await self._hand_over(disruption, terms.get("handover", {}), actor_id)
        await self._tell(disruption, home, arrival, handed, actor_id)
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

    async def _offer(
        self, courier: UUID, pay: dict[str, Any], sids: list[UUID], actor_id: UUID | None
    ) -> bool:
        """Offer the courier the work the plan gives them; False when they can no longer take
        it (gone offline, the work held by another offer meanwhile): it is rescheduled."""
        if not sids:
            return True
        offer = OfferCreate(
            pay=Pay(amount=float(pay["amount"]), currency=str(pay["currency"])),
            expires_at=utcnow() + RESCUE_OFFER_TTL,
            shipment_ids=sids,
            courier_ids=[courier],
        )
        try:
            await OfferService(self.session).create(offer, actor_id)
        except (Invalid, Conflict):  # raised before the offer writes anything
            return False
        return True

    async def _hand_over(
        self, disruption: Disruption, handover: dict[str, str], actor_id: UUID | None
    ) -> set[UUID]:
        """The stops no vehicle takes, to the first carrier of the hub's `partner_order`
        covering each (those closed meanwhile, or whose carrier is no longer active, stay)."""
        by_carrier: dict[UUID, list[UUID]] = {}
        for sid, carrier in handover.items():
            by_carrier.setdefault(UUID(carrier), []).append(UUID(sid))
        statuses = await ShipmentService(self.session).statuses(
            {sid for sids in by_carrier.values() for sid in sids}
        )
        handed: set[UUID] = set()
        reason = f"{disruption.kind} recovery (disruption {disruption.id})"
        for carrier, sids in sorted(by_carrier.items()):
            still_open = [s for s in sids if statuses.get(s) in OPEN_STATUSES]
            if not still_open:
                continue
            try:
                await OrganizationService(self.session).require_carrier(carrier)
            except Invalid:
                continue
            request = HandoverRequest(organization_id=carrier, reason=reason)
            handed |= set(
                await HandoverService(self.session).shipments(still_open, request, actor_id)
            )
        return handed

    async def _tell(
        self,
        disruption: Disruption,
        home: dict[UUID, UUID],
        arrival: dict[UUID, str],
        handed: set[UUID],
        actor_id: UUID | None,
    ) -> None:
        """Affected shipments planned on a route (or offered) are rerouted; those handed over
        carry their `handed_over` event; the rest are rescheduled."""
        affected = [UUID(s) for s in disruption.affected.get("shipment_ids", [])]
        moved = sorted(s for s in affected if s in home)
        dropped = sorted(s for s in affected if s not in home and s not in handed)
        if disruption.impact is not None:
            disruption.impact = disruption.impact | {
                "handed_over": len(handed),
                "rescheduled": len(dropped),
            }
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
