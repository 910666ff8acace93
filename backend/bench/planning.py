"""`scripts/bench planning`: the planner against plain PyVRP on Gehring-Homberger instances.

For each instance, in the same run and with the same time limit: plain PyVRP (`pyvrp.read` with
DIMACS rounding, `pyvrp.solve`) and the planner's own path (domain `Job`s and `Vehicle`s → the
planar matrix provider → `solve_problem` → a settled plan). The two alternate which goes first
from one instance to the next, so both see the same machine noise. Printed per instance and on
average: the gap to the best known solution and the difference between the two, with the load
average around each run (the machine may be shared).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyvrp
import vrplib
from pyvrp.stop import MaxRuntime

from backend.planning.matrix import CachedProvider, PlanarProvider
from backend.planning.problem import Job, Place, Problem, Vehicle
from backend.planning.solver import places_of, solve_problem

# `../shared/data/vrptw` beside the repository (or beside the folder of worktrees).
_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = next(
    (
        p
        for p in (_ROOT.parent / "shared/data/vrptw", _ROOT.parents[1] / "shared/data/vrptw")
        if p.is_dir()
    ),
    _ROOT.parent / "shared/data/vrptw",
)
DEFAULT_INSTANCES = ("C1_10_1", "C2_10_1", "R1_10_1", "R2_10_1", "RC1_10_1", "RC2_10_1")
SCALE = 10  # DIMACS: one decimal, as integers


@dataclass
class Outcome:
    cost: float  # instance units
    seconds: float
    load: float
    unassigned: int = 0


def bks(path: Path) -> float:
    for line in path.read_text().splitlines():
        if line.lower().startswith("cost"):
            return float(line.split()[1])
    raise ValueError(f"no Cost line in {path}")


def plain_pyvrp(path: Path, seconds: float, seed: int) -> Outcome:
    started = time.monotonic()
    data = pyvrp.read(path, round_func="dimacs")
    result = pyvrp.solve(data, MaxRuntime(seconds), seed=seed, display=False)
    cost = result.best.distance() / SCALE if result.best.is_feasible() else float("inf")
    return Outcome(cost, time.monotonic() - started, os.getloadavg()[0])


def problem_from_vrplib(path: Path) -> Problem:
    """The instance as the planner's domain objects: node 1 the depot, every other a job."""
    raw = vrplib.read_instance(str(path))
    coords, windows = raw["node_coord"], raw["time_window"]
    service, demand = raw["service_time"], raw["demand"]
    depot = Place(float(coords[0][0]), float(coords[0][1]))
    shift = (int(SCALE * windows[0][0]), int(SCALE * windows[0][1]))
    jobs = [
        Job(
            id=str(i + 1),
            place=Place(float(coords[i][0]), float(coords[i][1])),
            parcels=int(demand[i]),
            service_s=int(SCALE * _service(service, i)),
            window=(int(SCALE * windows[i][0]), int(SCALE * windows[i][1])),
        )
        for i in range(1, len(coords))
    ]
    vehicles = [
        Vehicle(
            id=f"v{n}",
            start=depot,
            end=depot,
            shift=shift,
            capacity_parcels=int(raw["capacity"]),
        )
        for n in range(int(raw["vehicles"]))
    ]
    return Problem(jobs=jobs, vehicles=vehicles, objective="distance")


def _service(service: object, i: int) -> float:
    return float(service) if not hasattr(service, "__len__") else float(service[i])  # type: ignore[index]


def planner(path: Path, seconds: float, seed: int) -> Outcome:
    started = time.monotonic()
    problem = problem_from_vrplib(path)
    places, _ = places_of(problem)
    provider = CachedProvider(PlanarProvider())
    matrices = {"van": asyncio.run(provider.matrix(places, "van"))}
    remaining = max(seconds - (time.monotonic() - started), 1.0)
    solution = solve_problem(problem, matrices, time_limit_s=remaining, seed=seed)
    cost = sum(route.distance_m for route in solution.routes) / SCALE
    return Outcome(
        cost, time.monotonic() - started, os.getloadavg()[0], unassigned=len(solution.unassigned)
    )


def run_planning(
    data_dir: Path, instances: list[str], seconds: float, seed: int, say: Callable[[str], None]
) -> str:
    rows = []
    for n, name in enumerate(instances):
        path = data_dir / f"{name}.vrp"
        best = bks(data_dir / f"{name}.sol")
        runs = [("pyvrp", plain_pyvrp), ("planner", planner)]
        if n % 2:
            runs.reverse()
        got: dict[str, Outcome] = {}
        for label, run in runs:
            say(f"{name}: {label} for {seconds:g} s (load {os.getloadavg()[0]:.2f}) …")
            got[label] = run(path, seconds, seed)
        rows.append((name, best, got["pyvrp"], got["planner"]))
        say(_row(rows[-1]))
    return _table(rows, seconds)


def _gap(cost: float, best: float) -> float:
    return 100.0 * (cost - best) / best


def _row(row: tuple[str, float, Outcome, Outcome]) -> str:
    name, best, plain, ours = row
    return (
        f"| {name} | {best:.1f} | {plain.cost:.1f} | {_gap(plain.cost, best):.2f} % | "
        f"{ours.cost:.1f} | {_gap(ours.cost, best):.2f} % | "
        f"{_gap(ours.cost, best) - _gap(plain.cost, best):+.2f} | {ours.unassigned} | "
        f"{plain.load:.1f} / {ours.load:.1f} |"
    )


def _table(rows: list[tuple[str, float, Outcome, Outcome]], seconds: float) -> str:
    lines = [
        f"Planning on Gehring-Homberger 1,000-customer VRPTW, {seconds:g} s per run, "
        f"{os.cpu_count()} CPUs",
        "",
        "| instance | BKS | PyVRP | gap | planner | gap | planner - PyVRP (points) "
        "| unassigned | load (PyVRP / planner) |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_row(row) for row in rows),
    ]
    if rows:
        plain = sum(_gap(r[2].cost, r[1]) for r in rows) / len(rows)
        ours = sum(_gap(r[3].cost, r[1]) for r in rows) / len(rows)
        lines.append(f"| **mean** | | | {plain:.2f} % | | {ours:.2f} % | {ours - plain:+.2f} | | |")
        lines += [
            "",
            f"targets: planner mean gap ≤ 2 % ({'met' if ours <= 2 else 'NOT met'}), "
            f"within 0.5 points of PyVRP ({'met' if ours - plain <= 0.5 else 'NOT met'})",
        ]
    return "\n".join(lines)
