"""Jobs no vehicle of the problem could ever serve, found before solving, with the reason a
dispatcher can act on: the first test a job fails, in the order of `UNASSIGNED_REASONS`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from backend.planning.matrix import Matrix
from backend.planning.problem import Job, Problem, Vehicle


def screen(
    problem: Problem, matrices: Mapping[str, Matrix], index: Mapping[str, int], depot_count: int
) -> tuple[list[Job], dict[str, str]]:
    """(jobs worth solving, {job id: reason} for the others)."""
    kept: list[Job] = []
    unassigned: dict[str, str] = {}
    place_index = _depot_index(problem)
    ids = {v.id for v in problem.vehicles}
    for job in problem.jobs:
        reason = _reason(job, problem.vehicles, ids, matrices, index, place_index)
        if reason == "window_unreachable" and job.late_ok:
            kept.append(replace(job, window=None))  # served late rather than taken off
        elif reason is None:
            kept.append(job)
        else:
            unassigned[job.id] = reason
    return kept, unassigned


def _reason(
    job: Job,
    vehicles: list[Vehicle],
    ids: set[str],
    matrices: Mapping[str, Matrix],
    index: Mapping[str, int],
    place_index: Mapping[object, int],
) -> str | None:
    if job.pinned_to is not None and job.pinned_to not in ids:
        return "loaded_on_other_vehicle"
    if job.only_vehicles is not None and not job.only_vehicles & ids:
        return "no_vehicle_available"
    if job.outside_zones:
        return "outside_every_zone"
    candidates = [
        v
        for v in vehicles
        if (job.pinned_to is None or v.id == job.pinned_to)
        and (job.only_vehicles is None or v.id in job.only_vehicles)
        and (v.zones is None or (job.zone is not None and job.zone in v.zones))
    ]
    if not candidates:
        return "outside_every_zone"
    candidates = [v for v in candidates if job.skills <= v.skills]
    if not candidates:
        return "no_driver_with_skills"
    candidates = [v for v in candidates if fits(job, v)]
    if not candidates:
        return "no_capacity"
    if not any(reachable(job, v, matrices[v.kind], index, place_index) for v in candidates):
        return "window_unreachable"
    return None


def fits(job: Job, vehicle: Vehicle) -> bool:
    if vehicle.capacity_parcels is not None and job.parcels > vehicle.capacity_parcels:
        return False
    return vehicle.capacity_kg is None or job.kg <= vehicle.capacity_kg


def reachable(
    job: Job,
    vehicle: Vehicle,
    matrix: Matrix,
    index: Mapping[str, int],
    place_index: Mapping[object, int],
) -> bool:
    """Can the vehicle go straight there from its start, serve it in its window, and get back
    to its end before its shift is over?"""
    start, end, at = place_index[vehicle.start], place_index[vehicle.end], index[job.id]
    arrival = vehicle.shift[0] + int(matrix.duration[start, at])
    early, late = job.window or (arrival, arrival)
    begin = max(arrival, early)
    back = begin + job.service_s + int(matrix.duration[at, end])
    return begin <= late and back <= vehicle.shift[1] - vehicle.break_s


def _depot_index(problem: Problem) -> dict[object, int]:
    index: dict[object, int] = {}
    for vehicle in problem.vehicles:
        for place in (vehicle.start, vehicle.end):
            index.setdefault(place, len(index))
    return index
