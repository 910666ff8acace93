"""The recovery re-plan: what the worker builds for a disruption's plan, and what it does once
the plan is solved (impact, then auto-apply when allowed).

One re-plan over the hub's whole day as it stands now. Drivers still on the road continue from
their latest position with what they carry (their completed stops are not in the problem: they
stay fixed on their routes; their parcels stay on their vehicle, served late rather than taken
off). The affected work goes to rescue vehicles: the hub's spare drivers, who start where the
parcels are (the broken-down van, the hub, the fallback hub) once they can get there. A zone
closure keeps its stops with their drivers but not before the zone reopens. What no one can
deliver today is rescheduled, unless a partner carrier of the hub's `partner_order` covers it:
then it is handed over to the first such carrier.

Online crowdsourced couriers near where the parcels are join the rescue vehicles: they drive
from where they are to the parcels, and what the plan gives them is offered to them (an offer
each, made when the recovery is applied) rather than assigned (docs/planning.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any
from uuid import UUID

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from backend.disruptions.models import Disruption
from backend.disruptions.repository import OPEN_STATUSES, DisruptionRepository
from backend.disruptions.service import DRIVER_KINDS, announce_disruption
from backend.lib.clock import utcnow
from backend.offers.service import OfferService
from backend.partners.service import OrganizationService
from backend.planning.builder import Built, by_id, job_of, origin_of, seconds, vehicle_of
from backend.planning.matrix import haversine_m, speed_for
from backend.planning.models import Plan
from backend.planning.problem import Job, Place, Problem, Solution, Vehicle
from backend.planning.repository import PlanningRepository
from backend.planning.settings import PlanningSettings

# A position older than this says little about where the van is now: use the hub instead.
FRESH_POSITION = dt.timedelta(hours=2)
# Online couriers at most this far from where the parcels are join the rescue, nearest first.
RESCUE_COURIER_RADIUS_M = 5_000.0
RESCUE_COURIERS = 10


async def build_recovery(session: AsyncSession, plan: Plan, settings: PlanningSettings) -> Built:
    drepo, repo = DisruptionRepository(session), PlanningRepository(session)
    disruption = await drepo.get(UUID(plan.request["disruption_id"]))
    assert disruption is not None
    # Re-planned from the moment it happened (reported late, or simulated).
    at = disruption.details.get("at")
    now, origin = (dt.datetime.fromisoformat(at) if at else utcnow()), origin_of(plan.date)
    now_s = max(seconds(now, origin), 0)
    hub = await _place(repo, disruption.hub_id)
    stops = await drepo.day_stops(disruption.hub_id, plan.date)
    affected = set(disruption.affected.get("shipment_ids", []))
    out = disruption.details.get("driver_id") if disruption.kind in DRIVER_KINDS else None
    open_ids = {s.shipment_id for s in stops if s.status in OPEN_STATUSES} | {
        UUID(a) for a in affected
    }
    rows = by_id(await repo.shipments(sorted(open_ids)))
    on_road = sorted({s.driver_id for s in stops if str(s.driver_id) != out})
    contingency = await drepo.contingency(disruption.hub_id)
    spare_ids = [
        UUID(d)
        for d in (contingency.spare_driver_ids if contingency else [])
        if d != out and UUID(d) not in on_road
    ]
    drivers = by_id(await repo.drivers(on_road + spare_ids, plan.date))
    spares = [drivers[d] for d in spare_ids if d in drivers and not drivers[d].on_the_road]
    rescue_start, rescue_from = await _rescue_start(repo, disruption, drivers, hub, now_s, settings)
    couriers = await _couriers(
        session, plan.date, rescue_start, set(on_road) | set(spare_ids) | {out}
    )
    vehicles = [
        vehicle_of(
            drivers[d],
            hub,
            origin,
            settings,
            start=_position(drivers[d], hub, now),
            not_before=now_s,
        )
        for d in on_road
        if d in drivers
    ] + [
        vehicle_of(row, hub, origin, settings, start=rescue_start, not_before=rescue_from)
        for row in spares
    ]
    # A courier rides from where they are to the parcels (once the hub reopens, if closed).
    ready_from = rescue_from if disruption.kind == "hub_closed" else now_s
    vehicles += [
        vehicle_of(
            row,
            hub,
            origin,
            settings,
            start=rescue_start,
            not_before=max(ready_from, now_s + _ride_s(Place(*at), rescue_start, row, settings)),
        )
        for row, at in couriers
    ]
    rescue = frozenset(str(row.id) for row in spares) | {str(row.id) for row, _ in couriers}
    jobs = _jobs(disruption, stops, rows, affected, rescue, out, origin, settings)
    context = _context(stops, vehicles, drivers, hub, now, settings)
    context |= {"affected": sorted(affected), "rescue": sorted(rescue), "out_driver": out}
    context |= {
        "couriers": {str(row.id): list(at) for row, at in couriers},
        "partners": await _partners(session, affected),
        "partner_order": list(contingency.partner_order) if contingency else [],
        "currency": settings.currency,
    }
    problem = Problem(jobs=jobs, vehicles=vehicles, objective="distance")
    return Built(problem=problem, origin=origin, context=context)


async def _couriers(
    session: AsyncSession, date: dt.date, near: Place, taken: set[Any]
) -> list[tuple[Row, tuple[float, float]]]:
    """Online, active couriers near the parcels and not on a route of their own today, with
    where they are."""
    found = await OfferService(session).online_couriers_near(
        near.lon, near.lat, RESCUE_COURIER_RADIUS_M, RESCUE_COURIERS
    )
    free = [c for c in found if c not in taken and str(c) not in taken]
    rows = by_id(await PlanningRepository(session).drivers(free, date))
    return [(rows[c], found[c]) for c in free if c in rows and not rows[c].on_the_road]


async def _partners(session: AsyncSession, affected: set[str]) -> dict[str, list[str]]:
    """Per affected shipment, the partner carriers whose service area covers it."""
    covering = await OrganizationService(session).carriers_covering(sorted(map(UUID, affected)))
    return {str(sid): [str(org) for org in orgs] for sid, orgs in covering.items()}


def _ride_s(start: Place, to: Place, row: Row, settings: PlanningSettings) -> int:
    ride = haversine_m([start, to])[0, 1] * settings.detour_factor
    return int(ride / (speed_for(settings.speeds_kmh, row.kind or "bike") / 3.6))


def _context(
    stops: list[Row],
    vehicles: list[Vehicle],
    drivers: dict[UUID, Row],
    hub: Place,
    now: dt.datetime,
    settings: PlanningSettings,
) -> dict[str, Any]:
    """What `impact` needs: each driver's open stops in their order before the disruption and
    where everyone starts, to compare the kilometres before and after."""
    baseline: dict[str, list[str]] = {}
    for stop in stops:
        if stop.status in OPEN_STATUSES:
            baseline.setdefault(str(stop.driver_id), []).append(str(stop.shipment_id))
    starts = {v.id: [v.start.lon, v.start.lat] for v in vehicles}
    for d in baseline:
        if UUID(d) in drivers:
            starts[d] = _coords(_position(drivers[UUID(d)], hub, now))
    return {
        "baseline": baseline,
        "starts": starts,
        "hub": _coords(hub),
        "cost_per_km": settings.cost_per_km,
        "cost_per_hour": settings.cost_per_hour,
        "detour_factor": settings.detour_factor,
    }


def _jobs(
    disruption: Disruption,
    stops: list[Row],
    rows: dict[UUID, Row],
    affected: set[str],
    rescue: frozenset[str],
    out: str | None,
    origin: dt.datetime,
    settings: PlanningSettings,
) -> list[Job]:
    jobs: list[Job] = []
    holder = {str(s.shipment_id): str(s.driver_id) for s in stops}
    until_s = (
        seconds(dt.datetime.fromisoformat(disruption.details["until"]), origin)
        if "until" in disruption.details
        else None
    )
    for sid in sorted({str(s) for s in rows}):
        row = rows[UUID(sid)]
        if row.status not in OPEN_STATUSES:
            continue
        driver = holder.get(sid)
        if sid in affected and disruption.kind == "zone_closed" and driver and driver != out:
            jobs.append(job_of(row, origin, settings, pinned_to=driver, not_before=until_s))
        elif sid in affected or driver is None or driver == out:
            jobs.append(replace_only(job_of(row, origin, settings), rescue))
        else:  # on a continuing driver's route: it stays there, late if it must
            jobs.append(_carried(job_of(row, origin, settings, pinned_to=driver), row))
    return jobs


def replace_only(job: Job, rescue: frozenset[str]) -> Job:
    return replace(job, only_vehicles=rescue)


def _carried(job: Job, row: Row) -> Job:
    return replace(job, late_ok=row.status == "out_for_delivery")


async def _place(repo: PlanningRepository, hub_id: UUID) -> Place:
    row = await repo.hub_place(hub_id)
    assert row is not None
    return Place(float(row.lon), float(row.lat))


def _position(driver: Row, hub: Place, now: dt.datetime) -> Place:
    if driver.pos_at is not None and now - driver.pos_at <= FRESH_POSITION:
        return Place(float(driver.pos_lon), float(driver.pos_lat))
    return hub


def _coords(place: Place) -> list[float]:
    return [place.lon, place.lat]


async def _rescue_start(
    repo: PlanningRepository,
    disruption: Disruption,
    drivers: dict[UUID, Row],
    hub: Place,
    now_s: int,
    settings: PlanningSettings,
) -> tuple[Place, int]:
    """Where rescue vehicles pick up the affected parcels, and from when."""
    details = disruption.details
    if disruption.kind == "vehicle_breakdown":
        if "location" in details:
            spot = Place(*details["location"])
        else:
            spot = await _last_position(repo, UUID(details["driver_id"]), hub)
        drive = haversine_m([hub, spot])[0, 1] * settings.detour_factor
        speed = speed_for(settings.speeds_kmh, "van") / 3.6
        return spot, now_s + int(drive / speed)
    if disruption.kind == "hub_closed":
        if details.get("fallback_hub_id"):
            return await _place(repo, UUID(details["fallback_hub_id"])), now_s
        until = dt.datetime.fromisoformat(details["until"])
        return hub, max(now_s, seconds(until, origin_of(disruption.date)))
    return hub, now_s


async def _last_position(repo: PlanningRepository, driver_id: UUID, hub: Place) -> Place:
    rows = await repo.drivers([driver_id], dt.date.today())
    if rows and rows[0].pos_lon is not None:
        return Place(float(rows[0].pos_lon), float(rows[0].pos_lat))
    return hub


# once solved -----------------------------------------------------------------------------------


async def recovery_solved(
    session: AsyncSession, plan: Plan, built: Built, solution: Solution
) -> None:
    from backend.disruptions.apply import RecoveryApplier

    drepo = DisruptionRepository(session)
    disruption = await drepo.by_plan(plan.id)
    if disruption is None:
        return
    disruption.impact = impact(built, solution)
    # What applying needs besides the routes: the couriers' offers and the handovers.
    plan.result = (plan.result or {}) | {"rescue": rescue_terms(built, solution)}
    disruption.status = "ready"
    disruption.plan_ready_at = utcnow()
    contingency = await drepo.contingency(disruption.hub_id)
    await session.flush()
    if (
        disruption.mode == "live"
        and disruption.auto_apply
        and contingency
        and contingency.auto_apply
    ):
        await RecoveryApplier(session).apply(disruption, plan, None)
    announce_disruption(session, disruption)


async def recovery_failed(session: AsyncSession, plan: Plan, *_: object) -> None:
    disruption = await DisruptionRepository(session).by_plan(plan.id)
    if disruption is not None:
        disruption.status = "failed"
        announce_disruption(session, disruption)


def rescue_terms(built: Built, solution: Solution) -> dict[str, Any]:
    """Each courier's pay for the route the plan gives them (at the cost model's rates), and
    the carrier each stop no vehicle takes is handed over to."""
    ctx = built.context
    couriers = {
        route.vehicle_id: {
            "amount": round(
                route.distance_m / 1000 * ctx["cost_per_km"]
                + route.duration_s / 3600 * ctx["cost_per_hour"],
                2,
            ),
            "currency": ctx["currency"],
        }
        for route in solution.routes
        if route.vehicle_id in ctx["couriers"] and route.visits
    }
    return {"couriers": couriers, "handover": handover_of(ctx, _unserved(ctx, solution))}


def _unserved(ctx: dict[str, Any], solution: Solution) -> list[str]:
    served = {v.job_id for route in solution.routes for v in route.visits}
    return sorted(a for a in ctx["affected"] if a not in served)


def handover_of(ctx: dict[str, Any], unserved: list[str]) -> dict[str, str]:
    """{shipment: carrier}: the first carrier of the hub's `partner_order` covering it."""
    handover: dict[str, str] = {}
    for sid in unserved:
        covering = ctx["partners"].get(sid, [])
        first = next((p for p in ctx["partner_order"] if p in covering), None)
        if first is not None:
            handover[sid] = first
    return handover


def partner_candidates(ctx: dict[str, Any], unserved: list[str]) -> list[str]:
    """Carriers covering any stop no vehicle takes: the hub's `partner_order` first, in its
    order, then the others (by id)."""
    covering = {p for sid in unserved for p in ctx["partners"].get(sid, [])}
    ordered = [p for p in ctx["partner_order"] if p in covering]
    return ordered + sorted(covering - set(ordered))


def impact(built: Built, solution: Solution) -> dict[str, Any]:
    ctx = built.context
    affected = set(ctx["affected"])
    places = {job.id: job.place for job in built.problem.jobs}
    starts = {d: Place(*xy) for d, xy in ctx["starts"].items()}
    hub = Place(*ctx["hub"])
    served = {v.job_id: v for route in solution.routes for v in route.visits}
    before = sum(
        _path_km([starts.get(d, hub), *(places[s] for s in sids if s in places), hub], ctx)
        for d, sids in ctx["baseline"].items()
    )
    after = 0.0
    rescue_hours = 0.0
    vehicles: dict[str, Vehicle] = {v.id: v for v in built.problem.vehicles}
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        path = [vehicle.start, *(places[v.job_id] for v in route.visits), vehicle.end]
        after += _path_km(path, ctx)
        if route.vehicle_id in ctx["rescue"]:
            rescue_hours += route.duration_s / 3600
            # The drive out to the parcels: from the hub, or from where the courier is.
            came_from = Place(*ctx["couriers"].get(route.vehicle_id, ctx["hub"]))
            after += _path_km([came_from, vehicle.start], ctx)
    extra_km = round(after - before, 2)
    unserved = _unserved(ctx, solution)
    handed_over = len(handover_of(ctx, unserved))
    rescuers = [r.vehicle_id for r in solution.routes if r.vehicle_id in ctx["rescue"]]
    return {
        "affected": len(affected),
        "kept_in_window": sum(1 for a in affected if a in served and not served[a].late),
        "late": sum(1 for a in affected if a in served and served[a].late),
        "handed_over": handed_over,
        "rescheduled": len(unserved) - handed_over,
        "extra_km": extra_km,
        "extra_cost": round(extra_km * ctx["cost_per_km"] + rescue_hours * ctx["cost_per_hour"], 2),
        "spare_drivers_used": sum(1 for r in rescuers if r not in ctx["couriers"]),
        "couriers_offered": sum(1 for r in rescuers if r in ctx["couriers"]),
        "partner_candidates": partner_candidates(ctx, unserved),
    }


def _path_km(path: list[Place], ctx: dict[str, Any]) -> float:
    if len(path) < 2:
        return 0.0
    matrix = haversine_m(path)
    legs = sum(matrix[i, i + 1] for i in range(len(path) - 1))
    return float(legs) * ctx["detour_factor"] / 1000
