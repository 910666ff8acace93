"""Times along a route, and the last word on feasibility: `settle` walks each route the solver
returned with the real travel times and takes off any stop that would be served after its
window closes, that the vehicle may not serve, that does not fit in the vehicle, or that keeps
the driver past the shift's end. What is left is a plan a driver can actually drive."""

from __future__ import annotations

from collections.abc import Mapping

from backend.planning.matrix import Matrix
from backend.planning.problem import Job, PlannedRoute, Problem, Vehicle, Visit
from backend.planning.screen import fits


def settle(
    routes: list[tuple[Vehicle, int, list[Job]]],
    problem: Problem,
    matrices: Mapping[str, Matrix],
    index: Mapping[str, int],
) -> tuple[list[PlannedRoute], dict[str, str]]:
    depots: dict[object, int] = {}
    for vehicle in problem.vehicles:
        for place in (vehicle.start, vehicle.end):
            depots.setdefault(place, len(depots))
    planned: list[PlannedRoute] = []
    dropped: dict[str, str] = {}
    windows = {job.id: job.window for job in problem.jobs}
    for vehicle, departure, jobs in routes:
        route = walk(
            vehicle, departure, jobs, matrices[vehicle.kind], index, depots, dropped, windows
        )
        if route.visits:
            planned.append(route)
    return planned, dropped


def walk(
    vehicle: Vehicle,
    departure: int,
    jobs: list[Job],
    matrix: Matrix,
    index: Mapping[str, int],
    depots: Mapping[object, int],
    dropped: dict[str, str],
    windows: Mapping[str, tuple[int, int] | None] | None = None,
) -> PlannedRoute:
    """Drive the route; a stop that cannot be served is dropped (into `dropped`) and the driver
    goes on from the previous place. Stops past capacity or past the shift go from the end."""
    served = _within_capacity(vehicle, jobs, dropped)
    windows = windows or {job.id: job.window for job in jobs}
    start, end = depots[vehicle.start], depots[vehicle.end]
    limit = vehicle.shift[1] - vehicle.break_s
    departure = max(departure, vehicle.shift[0])
    while True:
        visits, at, t, distance = [], start, departure, 0
        for job in served:
            loc = index[job.id]
            arrival = t + int(matrix.duration[at, loc])
            early, late = windows.get(job.id) or (arrival, arrival)
            begin = max(arrival, early)
            if (begin > late and not job.late_ok) or not vehicle.can_serve(job):
                dropped[job.id] = "window_unreachable" if begin > late else "no_driver_with_skills"
                continue
            distance += int(matrix.distance[at, loc])
            t = begin + job.service_s
            visits.append(Visit(job.id, arrival, begin, t, late=begin > late))
            at = loc
        back = t + int(matrix.duration[at, end])
        if back <= limit or not visits:
            break
        last = visits[-1].job_id
        dropped[last] = "window_unreachable"
        served = [job for job in served if job.id != last and job.id not in dropped]
    kept = {v.job_id for v in visits}
    loaded = [job for job in served if job.id in kept]
    return PlannedRoute(
        vehicle_id=vehicle.id,
        visits=visits,
        start=departure,
        end=back,
        distance_m=distance + int(matrix.distance[at, end]),
        duration_s=back - departure,
        parcels=sum(job.parcels for job in loaded),
        kg=round(sum(job.kg for job in loaded), 3),
    )


def _within_capacity(vehicle: Vehicle, jobs: list[Job], dropped: dict[str, str]) -> list[Job]:
    parcels, kg, kept = 0, 0.0, []
    for job in jobs:
        over_parcels = (
            vehicle.capacity_parcels is not None
            and parcels + job.parcels > vehicle.capacity_parcels
        )
        over_kg = vehicle.capacity_kg is not None and kg + job.kg > vehicle.capacity_kg + 1e-9
        if over_parcels or over_kg or not fits(job, vehicle):
            dropped[job.id] = "no_capacity"
            continue
        parcels, kg = parcels + job.parcels, kg + job.kg
        kept.append(job)
    return kept
