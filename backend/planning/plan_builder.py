"""A plan's problem from the database: the shipments asked for (or every unrouted one of the hub
for that day) and the drivers asked for (or every active driver of the hub who is not already on
the road that day and not out for a disruption)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.planning.builder import Built, ids, job_of, origin_of, vehicle_of
from backend.planning.models import Plan
from backend.planning.problem import Place, Problem
from backend.planning.repository import PlanningRepository
from backend.planning.settings import PlanningSettings

PLANNABLE = ("created", "at_hub", "attempt_failed", "out_for_delivery")


async def build_plan(session: AsyncSession, plan: Plan, settings: PlanningSettings) -> Built:
    repo = PlanningRepository(session)
    origin = origin_of(plan.date)
    hub_row = await repo.hub_place(plan.hub_id)
    assert hub_row is not None
    hub = Place(float(hub_row.lon), float(hub_row.lat))
    request = plan.request or {}
    if request.get("shipment_ids"):
        rows = await repo.shipments(ids(request["shipment_ids"]))
    else:
        rows = await repo.unrouted_shipments(plan.hub_id, plan.date)
    if request.get("driver_ids"):
        drivers = await repo.drivers(ids(request["driver_ids"]), plan.date)
    else:
        out = await unavailable_drivers(session, plan)
        drivers = [
            d
            for d in await repo.hub_drivers(plan.hub_id, plan.date)
            if not d.on_the_road and d.employment == "employee" and d.id not in out
        ]
    unplannable = {str(r.id): "not_plannable" for r in rows if r.status not in PLANNABLE}
    penalty = request.get("optional_penalty")
    jobs = [
        job_of(
            row,
            origin,
            settings,
            # Parcels already loaded stay on their vehicle.
            pinned_to=str(row.route_driver_id)
            if row.status == "out_for_delivery" and row.route_driver_id
            else None,
            penalty=penalty if penalty and row.service_level == "standard" else None,
        )
        for row in rows
        if str(row.id) not in unplannable
    ]
    vehicles = [vehicle_of(d, hub, origin, settings) for d in drivers if d.active]
    problem = Problem(jobs=jobs, vehicles=vehicles, objective=plan.objective)  # type: ignore[arg-type]
    return Built(problem=problem, origin=origin, unplannable=unplannable)


async def unavailable_drivers(session: AsyncSession, plan: Plan) -> set:
    from backend.disruptions.service import DisruptionService

    return await DisruptionService(session).drivers_out(plan.hub_id, plan.date)
