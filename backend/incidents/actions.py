"""Playbook steps taken: a manual step is marked done; a one-click action runs through the
service of the domain that owns what it changes, so its usual effects follow — the drivers'
next pull carries route changes (RouteService), a handover gives the carrier its shipments
(HandoverService), a new window reaches the driver's copy and the tracking page
(ShipmentService.update) and the recipient hears of it with the tracking link
(NotificationService, through the outbox). Each step taken is an `action` activity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.schemas import Principal
from backend.incidents.models import Incident
from backend.incidents.playbooks import (
    HAND_OVER,
    MOVE_STOPS,
    NOTIFY_NEW_WINDOW,
    REASSIGN_ROUTE,
    REPLAN_ROUTE,
    RESCHEDULE,
    playbook_of,
)
from backend.incidents.schemas import StepIn, StepTaken
from backend.incidents.triage import TriageService, ensure_unresolved
from backend.lib.clock import utcnow
from backend.lib.errors import Invalid, NotFound
from backend.manifests.repository import ManifestRepository
from backend.manifests.schemas import RouteCreate, RouteRead, StopIn
from backend.manifests.service import RouteService
from backend.notifications.service import NotificationService
from backend.partners.handover import HandoverService
from backend.partners.schemas import HandoverRequest
from backend.planning.schemas import PlanCreate
from backend.planning.service import PlanService
from backend.shipments.schemas import ShipmentUpdate, Window
from backend.shipments.service import FROZEN_STATUSES, ShipmentService

Result = dict[str, Any]
DEFAULT_REPLAN_SECONDS = 10.0
# The recipient's message of a new window: a kind of its own, so an ETA already sent in this
# attempt does not swallow it (one message of each kind per attempt).
NEW_WINDOW_MESSAGE = "new_window"


class PlaybookRunner:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.triage = TriageService(session)
        self.routes = RouteService(session)
        self._actions: dict[str, Callable[[Incident, StepIn, Principal], Awaitable[Result]]] = {
            REPLAN_ROUTE: self.replan_route,
            REASSIGN_ROUTE: self.reassign_route,
            MOVE_STOPS: self.move_stops,
            HAND_OVER: self.hand_over,
            NOTIFY_NEW_WINDOW: self.notify_new_window,
            RESCHEDULE: self.reschedule,
        }

    async def take(
        self, incident_id: UUID, number: int, params: StepIn, principal: Principal
    ) -> StepTaken:
        """Run step `number` (1-based) of the incident's playbook. Working a step means someone
        is on it: an incident not yet acknowledged is acknowledged first."""
        incident = await self.triage.require(incident_id, for_update=True)
        steps = playbook_of(incident.kind)
        if not 1 <= number <= len(steps):
            raise NotFound(f"The playbook of {incident.kind} has steps 1 to {len(steps)}")
        ensure_unresolved(incident)
        if incident.acknowledged_at is None:
            await self.triage.acknowledge(incident_id, principal.user_id)
        step = steps[number - 1]
        result: Result = {}
        if step.action is not None:
            result = await self._actions[step.action](incident, params, principal)
        data = {
            "step": number,
            "title": step.title,
            "action": step.action,
            "note": params.note,
            "result": result,
        }
        await self.triage.log(incident, "action", principal.user_id, data)
        return StepTaken(incident=(await self.triage.reads([incident]))[0], result=result)

    # actions ---------------------------------------------------------------------------------

    async def replan_route(self, incident: Incident, params: StepIn, who: Principal) -> Result:
        """Queue a plan of the route's remaining stops for its driver (solved by the worker;
        dispatch reviews and applies it as any plan)."""
        route = await self._route(incident, params, who)
        shipment_ids = [stop.shipment_id for stop in route.stops]
        if not shipment_ids:
            raise Invalid("The route has no stops left to plan", field="route_id")
        plan = await PlanService(self.session).create(
            PlanCreate(
                hub_id=route.hub_id,
                date=route.date,
                shipment_ids=shipment_ids,
                driver_ids=[route.driver_id],
                time_limit_s=params.time_limit_s or DEFAULT_REPLAN_SECONDS,
            ),
            who.user_id,
        )
        return {"route_id": str(route.id), "plan_id": str(plan.id), "plan_status": plan.status}

    async def reassign_route(self, incident: Incident, params: StepIn, who: Principal) -> Result:
        driver_id = _required(params.driver_id, "driver_id")
        route = await self._route(incident, params, who)
        moved = await self.routes.reassign(route.id, driver_id, who.user_id)
        return {
            "route_id": str(moved.id),
            "from_driver_id": str(route.driver_id),
            "driver_id": str(driver_id),
            "shipment_ids": [str(stop.shipment_id) for stop in moved.stops],
        }

    async def move_stops(self, incident: Incident, params: StepIn, who: Principal) -> Result:
        """The shipments leave their routes (their driver's next pull removes them) and join the
        driver's route of that day at that hub, a new published one if the driver has none."""
        driver_id = _required(params.driver_id, "driver_id")
        shipment_ids = await self._shipments(incident, params, who)
        on_routes = await ManifestRepository(self.session).stops_elsewhere(shipment_ids, None)
        if not on_routes:
            raise Invalid(
                "None of these shipments is on a route to move it from", field="shipment_ids"
            )
        source = await self.routes.get(on_routes[min(on_routes)], who)
        for shipment_id in shipment_ids:
            await self.routes.withdraw(shipment_id)
        target = await self._driver_route(driver_id, source, shipment_ids, who)
        return {
            "driver_id": str(driver_id),
            "route_id": str(target.id),
            "from_route_ids": sorted({str(r) for r in on_routes.values()}),
            "shipment_ids": [str(s) for s in shipment_ids],
        }

    async def hand_over(self, incident: Incident, params: StepIn, who: Principal) -> Result:
        organization_id = _required(params.organization_id, "organization_id")
        shipment_ids = await self._shipments(incident, params, who)
        reason = f"incident {incident.kind} ({incident.id})"
        request = HandoverRequest(organization_id=organization_id, reason=reason)
        handed = await HandoverService(self.session).shipments(shipment_ids, request, who.user_id)
        return {"organization_id": str(organization_id), "shipment_ids": [str(s) for s in handed]}

    async def notify_new_window(self, incident: Incident, params: StepIn, who: Principal) -> Result:
        """A new window on each shipment (the driver's copy and the tracking page show it) and a
        message to its recipient with the window and the tracking link."""
        window = _required(params.window, "window")
        shipment_ids = await self._shipments(incident, params, who)
        await self._set_window(shipment_ids, window, who, rescheduled=False)
        return {"shipment_ids": [str(s) for s in shipment_ids], "window": _window(window)}

    async def reschedule(self, incident: Incident, params: StepIn, who: Principal) -> Result:
        """Off today's route, onto a later window: the driver's next pull drops the stop; the
        recipient is told the new window and may choose another through the tracking link."""
        window = _required(params.window, "window")
        if window.start <= utcnow():
            raise Invalid("A rescheduled window starts in the future", field="window.start")
        shipment_ids = await self._shipments(incident, params, who)
        left = [await self.routes.withdraw(shipment_id) for shipment_id in shipment_ids]
        await self._set_window(shipment_ids, window, who, rescheduled=True)
        return {
            "shipment_ids": [str(s) for s in shipment_ids],
            "window": _window(window),
            "from_route_ids": sorted({str(r) for r in left if r}),
        }

    # helpers ---------------------------------------------------------------------------------

    async def _set_window(
        self, shipment_ids: list[UUID], window: Window, who: Principal, *, rescheduled: bool
    ) -> None:
        shipments = ShipmentService(self.session)
        notifications = NotificationService(self.session)
        message = {"window": _window(window), "rescheduled": rescheduled}
        for shipment_id in shipment_ids:
            await shipments.update(shipment_id, ShipmentUpdate(window=window), who.user_id)
            await notifications.request(shipment_id, NEW_WINDOW_MESSAGE, message)

    async def _route(self, incident: Incident, params: StepIn, who: Principal) -> RouteRead:
        """The route named, else the incident's, else the route its shipment is on."""
        route_id = params.route_id or incident.route_id
        if route_id is None and incident.shipment_id is not None:
            on = await ManifestRepository(self.session).stops_elsewhere(
                [incident.shipment_id], None
            )
            route_id = on.get(incident.shipment_id)
        if route_id is None:
            raise Invalid(
                "The incident names no route, and its shipment is on none", field="route_id"
            )
        return await self.routes.get(route_id, who)

    async def _shipments(self, incident: Incident, params: StepIn, who: Principal) -> list[UUID]:
        """The shipments named, else the incident's, else the open stops of its route."""
        if params.shipment_ids:
            if len(set(params.shipment_ids)) != len(params.shipment_ids):
                raise Invalid("A shipment is listed twice", field="shipment_ids")
            found = await ShipmentService(self.session).statuses(set(params.shipment_ids))
            for n, shipment_id in enumerate(params.shipment_ids):
                if shipment_id not in found:
                    raise Invalid("No such shipment", field=f"shipment_ids[{n}]")
            return list(params.shipment_ids)
        if incident.shipment_id is not None:
            return [incident.shipment_id]
        if incident.route_id is not None:
            route = await self.routes.get(incident.route_id, who)
            # The route's stops still to deliver: a delivered one no longer changes.
            ids = [stop.shipment_id for stop in route.stops]
            statuses = await ShipmentService(self.session).statuses(set(ids))
            if still_open := [s for s in ids if statuses.get(s) not in FROZEN_STATUSES]:
                return still_open
        raise Invalid("Name the shipments this step is about", field="shipment_ids")

    async def _driver_route(
        self, driver_id: UUID, source: RouteRead, shipment_ids: list[UUID], who: Principal
    ) -> RouteRead:
        existing = await self.routes.of_driver_day(driver_id, source.hub_id, source.date)
        if existing:
            route = await self.routes.get(existing[0].id, who)
            stops = [StopIn(shipment_id=s.shipment_id) for s in route.stops]
            stops += [StopIn(shipment_id=s) for s in shipment_ids]
            return await self.routes.replace_stops(route.id, stops, who.user_id)
        created = await self.routes.create(
            RouteCreate(
                driver_id=driver_id,
                hub_id=source.hub_id,
                date=source.date,
                stops=[StopIn(shipment_id=s) for s in shipment_ids],
            ),
            who.user_id,
        )
        if source.status == "draft":
            return created
        return await self.routes.publish(created.id, who.user_id)


def _required(value: Any, field: str) -> Any:
    if value is None:
        raise Invalid(f"This step needs {field}", field=field, code="missing_parameter")
    return value


def _window(window: Window) -> dict[str, str]:
    return {"start": window.start.isoformat(), "end": window.end.isoformat()}
