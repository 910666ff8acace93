"""`solve_problem`: a `Problem` and its travel matrices in, a `Solution` out, through PyVRP.

Jobs no vehicle could ever serve are screened out first with their reason (`screen.py`); the rest
go to PyVRP as one VRPTW with a routing profile per group of vehicles that may serve the same
jobs (edges into a job a vehicle may not serve cost `FORBIDDEN`). Whatever the solver could not
fit (a route still late or overloaded when time ran out) is taken off its route with a reason by
`timeline.settle`, so a returned plan always respects windows, shifts and capacities.

This is synchronous, CPU-bound code: the worker runs it in a thread (PyVRP's search runs in C++).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from pyvrp import (
    Client,
    Depot,
    IteratedLocalSearchCallbacks,
    IteratedLocalSearchParams,
    Location,
    ProblemData,
    SolveParams,
    VehicleType,
    solve,
)
from pyvrp import Solution as PyvrpSolution
from pyvrp.stop import MaxRuntime, MultipleCriteria

from backend.planning.matrix import Matrix
from backend.planning.problem import Job, Place, Problem, Solution, Vehicle
from backend.planning.screen import screen
from backend.planning.timeline import settle

FORBIDDEN = 100_000_000
UNLIMITED = 1_000_000_000
COSTS = {"distance": (1, 0), "duration": (0, 1), "balanced": (1, 1)}


@dataclass
class SolveProgress:
    """Written by the solving thread, read by the worker's event loop (plain values: the GIL
    makes each assignment atomic). `cancel` stops the search early with the best so far."""

    best_cost: int | None = None
    iterations: int = 0
    started: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started


def places_of(problem: Problem) -> tuple[list[Place], int]:
    """The places a problem's matrices must cover, in order: the distinct vehicle start and end
    places (the depots), then one per job. Returns them and the number of depots."""
    depots: list[Place] = []
    for vehicle in problem.vehicles:
        for place in (vehicle.start, vehicle.end):
            if place not in depots:
                depots.append(place)
    return depots + [job.place for job in problem.jobs], len(depots)


def solve_problem(
    problem: Problem,
    matrices: Mapping[str, Matrix],
    *,
    time_limit_s: float,
    seed: int = 0,
    progress: SolveProgress | None = None,
) -> Solution:
    """`matrices` maps each vehicle kind to the matrix over `places_of(problem)`.

    Jobs and vehicles that can never meet (loaded parcels pinned to their van, zones, rescue
    vehicles) split the problem into independent parts; each is solved on its own with a share
    of the time in proportion to its jobs, which is both faster and better than one search that
    must learn which edges are forbidden."""
    progress = progress or SolveProgress()
    if not problem.vehicles:
        return Solution(routes=[], unassigned={j.id: "no_vehicle_available" for j in problem.jobs})
    places, depot_count = places_of(problem)
    index = {job.id: depot_count + i for i, job in enumerate(problem.jobs)}
    kept, unassigned = screen(problem, matrices, index, depot_count)
    if not kept:
        return Solution(routes=[], unassigned=unassigned)
    planned: list[tuple[Vehicle, int, list[Job]]] = []
    cost, feasible, spent = 0, True, 0.0
    parts = components(kept, problem.vehicles)
    for n, (jobs, vehicles) in enumerate(parts):
        share = time_limit_s * len(jobs) / len(kept)
        if n == len(parts) - 1:
            share = max(time_limit_s - spent, 0.05)
        started = time.monotonic()
        sub = Problem(jobs=jobs, vehicles=vehicles, objective=problem.objective)
        model = _Model(sub, jobs, _sliced(sub, places, depot_count, index, matrices))
        best = _search(model.data, max(share, 0.05), seed, progress, base=cost)
        planned += model.routes_of(best)
        cost += _cost(best)
        feasible = feasible and bool(best.is_feasible())
        spent += time.monotonic() - started
    routes, dropped = settle(planned, problem, matrices, index)
    unassigned |= dropped
    served = {visit.job_id for route in routes for visit in route.visits}
    for job in kept:
        if job.id not in unassigned and job.id not in served:
            unassigned[job.id] = "optional_not_worth_it"
    return Solution(
        routes=routes,
        unassigned=unassigned,
        cost=cost,
        feasible=feasible,
        iterations=progress.iterations,
    )


def components(jobs: list[Job], vehicles: list[Vehicle]) -> list[tuple[list[Job], list[Vehicle]]]:
    """Groups of vehicles linked by a job more than one of them may serve, with their jobs."""
    parent = {v.id: v.id for v in vehicles}

    def root(vid: str) -> str:
        while parent[vid] != vid:
            parent[vid] = parent[parent[vid]]
            vid = parent[vid]
        return vid

    owner: dict[str, str] = {}
    for job in jobs:
        allowed = [v.id for v in vehicles if v.can_serve(job)]
        for other in allowed[1:]:
            parent[root(other)] = root(allowed[0])
        owner[job.id] = allowed[0]
    groups: dict[str, tuple[list[Job], list[Vehicle]]] = {}
    for job in jobs:
        groups.setdefault(root(owner[job.id]), ([], []))[0].append(job)
    for vehicle in vehicles:
        if root(vehicle.id) in groups:
            groups[root(vehicle.id)][1].append(vehicle)
    return list(groups.values())


def _sliced(
    sub: Problem,
    places: list[Place],
    depot_count: int,
    index: Mapping[str, int],
    matrices: Mapping[str, Matrix],
) -> dict[str, Matrix]:
    """The parent problem's matrices cut down to the places of a part, in its own order."""
    depot_of = {place: i for i, place in enumerate(places[:depot_count])}
    sub_places, sub_depots = places_of(sub)
    rows = np.array(
        [depot_of[p] for p in sub_places[:sub_depots]] + [index[job.id] for job in sub.jobs]
    )
    cut = np.ix_(rows, rows)
    return {
        kind: Matrix(distance=m.distance[cut], duration=m.duration[cut])
        for kind, m in matrices.items()
        if kind in {v.kind for v in sub.vehicles}
    }


def _cost(best: PyvrpSolution) -> int:
    cost = best.distance_cost() + best.duration_cost() + best.fixed_vehicle_cost()
    return int(cost + best.uncollected_prizes())


class _Callbacks(IteratedLocalSearchCallbacks):
    def __init__(self, progress: SolveProgress, base: int) -> None:
        super().__init__()
        self.progress = progress
        self.base = base

    def on_best(self, best: PyvrpSolution) -> None:
        if best.is_feasible():
            self.progress.best_cost = self.base + _cost(best)

    def on_iteration(self, *args: object) -> None:
        self.progress.iterations += 1


def _search(
    data: ProblemData, time_limit_s: float, seed: int, progress: SolveProgress, base: int = 0
):
    params = SolveParams(ils=IteratedLocalSearchParams(callbacks=_Callbacks(progress, base)))
    stop = MultipleCriteria([MaxRuntime(time_limit_s), lambda _cost: progress.cancel.is_set()])
    result = solve(data, stop, seed=seed, collect_stats=False, display=False, params=params)
    return result.best


class _Model:
    """The PyVRP data for the kept jobs, and the way back from its routes to ours."""

    def __init__(self, problem: Problem, jobs: list[Job], matrices: Mapping[str, Matrix]) -> None:
        """`matrices` over `places_of(problem)`, whose jobs are exactly `jobs`."""
        self.problem, self.jobs = problem, jobs
        places, depot_count = places_of(problem)
        depots = places[:depot_count]
        rows = np.arange(len(places))
        locations = [Location(x=p.lon, y=p.lat) for p in depots] + [
            Location(x=job.place.lon, y=job.place.lat) for job in jobs
        ]
        dims = _dimensions(problem, jobs)
        profiles, profile_of = self._profiles(matrices, rows, depot_count)
        self.vehicle_groups: list[list[Vehicle]] = []
        vehicle_types = self._vehicle_types(depots, dims, profile_of)
        self.data = ProblemData(
            locations=locations,
            clients=[_client(job, depot_count + i, dims) for i, job in enumerate(jobs)],
            depots=[Depot(location=i) for i in range(depot_count)],
            vehicle_types=vehicle_types,
            distance_matrices=[p[0] for p in profiles],
            duration_matrices=[p[1] for p in profiles],
        )

    def _profiles(self, matrices: Mapping[str, Matrix], rows: np.ndarray, depot_count: int):
        """One (distance, duration) pair per (kind, jobs the vehicle may not serve)."""
        profiles: list[tuple[np.ndarray, np.ndarray]] = []
        keys: dict[tuple[str, bytes], int] = {}
        profile_of: dict[str, int] = {}
        for vehicle in self.problem.vehicles:
            barred = np.array([not vehicle.can_serve(job) for job in self.jobs], dtype=bool)
            key = (vehicle.kind, barred.tobytes())
            if key not in keys:
                matrix = matrices[vehicle.kind]
                distance = matrix.distance[np.ix_(rows, rows)]
                duration = matrix.duration[np.ix_(rows, rows)]
                if barred.any():
                    columns = depot_count + np.flatnonzero(barred)
                    distance[:, columns] = FORBIDDEN
                    duration[:, columns] = FORBIDDEN
                    np.fill_diagonal(distance, 0)
                    np.fill_diagonal(duration, 0)
                keys[key] = len(profiles)
                profiles.append((distance, duration))
            profile_of[vehicle.id] = keys[key]
        return profiles, profile_of

    def _vehicle_types(
        self, depots: list[Place], dims: tuple[bool, bool], profile_of: Mapping[str, int]
    ) -> list[VehicleType]:
        """Identical vehicles share a type (PyVRP searches faster with fewer types)."""
        distance_cost, duration_cost = COSTS[self.problem.objective]
        groups: dict[tuple, list[Vehicle]] = {}
        for v in self.problem.vehicles:
            key = (
                profile_of[v.id],
                depots.index(v.start),
                depots.index(v.end),
                v.shift,
                v.break_s,
                tuple(_capacity(v, dims)),
                v.fixed_cost,
            )
            groups.setdefault(key, []).append(v)
        types = []
        for (profile, start, end, shift, break_s, capacity, fixed), vehicles in groups.items():
            self.vehicle_groups.append(vehicles)
            types.append(
                VehicleType(
                    num_available=len(vehicles),
                    capacity=list(capacity),
                    start_depot=start,
                    end_depot=end,
                    fixed_cost=fixed,
                    tw_early=shift[0],
                    tw_late=shift[1] - break_s,
                    unit_distance_cost=distance_cost,
                    unit_duration_cost=duration_cost,
                    profile=profile,
                )
            )
        return types

    def routes_of(self, best: PyvrpSolution) -> list[tuple[Vehicle, int, list[Job]]]:
        """(vehicle, departure, ordered jobs) per non-empty route of PyVRP's solution."""
        unused = [list(group) for group in self.vehicle_groups]
        routes = []
        for route in best.routes():
            vehicle = unused[route.vehicle_type()].pop(0)
            jobs = [self.jobs[a.idx] for a in route.schedule() if a.is_client()]
            routes.append((vehicle, int(route.start_time()), jobs))
        return routes


def _dimensions(problem: Problem, jobs: list[Job]) -> tuple[bool, bool]:
    """Which load dimensions matter: parcels when a vehicle has a parcel capacity, kilograms
    when a vehicle has a weight limit and a job has a weight."""
    parcels = any(v.capacity_parcels is not None for v in problem.vehicles)
    kg = any(v.capacity_kg is not None for v in problem.vehicles) and any(j.kg > 0 for j in jobs)
    return parcels, kg


def _capacity(vehicle: Vehicle, dims: tuple[bool, bool]) -> list[int]:
    capacity = []
    if dims[0]:
        capacity.append(
            UNLIMITED if vehicle.capacity_parcels is None else int(vehicle.capacity_parcels)
        )
    if dims[1]:
        capacity.append(UNLIMITED if vehicle.capacity_kg is None else grams(vehicle.capacity_kg))
    return capacity


def grams(kg: float) -> int:
    return round(kg * 1000)


def _client(job: Job, location: int, dims: tuple[bool, bool]) -> Client:
    delivery = ([job.parcels] if dims[0] else []) + ([grams(job.kg)] if dims[1] else [])
    window = job.window or (0, UNLIMITED * 1000)
    return Client(
        location=location,
        delivery=delivery,
        service_duration=job.service_s,
        tw_early=window[0],
        tw_late=window[1],
        required=job.penalty is None,
        prize=job.penalty or 0,
    )
