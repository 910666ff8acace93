"""The solver's promises on small problems, without a database: every returned route respects
capacity, windows, shifts, skills, zones and loaded parcels, and every job left out says why."""

from __future__ import annotations

import asyncio

import pytest

from backend.planning.matrix import HaversineProvider
from backend.planning.problem import Job, Place, Problem, Vehicle
from backend.planning.solver import places_of, solve_problem

HUB = Place(13.40, 52.50)
HOUR = 3600


def grid(n: int, *, start: int = 0, **fields) -> list[Job]:
    """n jobs on a small grid around the hub (about 100-600 m apart)."""
    fields = {"service_s": 120} | fields
    return [
        Job(
            id=f"j{start + i}",
            place=Place(13.40 + 0.002 * (i % 5 - 2), 52.50 + 0.002 * (i // 5 - 1)),
            **fields,
        )
        for i in range(n)
    ]


def van(vid: str, **fields) -> Vehicle:
    return Vehicle(
        **({"id": vid, "start": HUB, "end": HUB, "shift": (8 * HOUR, 18 * HOUR)} | fields)
    )


def solve(problem: Problem, seconds: float = 0.3):
    places, _ = places_of(problem)
    provider = HaversineProvider()
    kinds = {v.kind for v in problem.vehicles}
    matrices = {k: asyncio.run(provider.matrix(places, k)) for k in kinds}
    return solve_problem(problem, matrices, time_limit_s=seconds, seed=1), matrices


def served(solution) -> dict[str, str]:
    return {v.job_id: r.vehicle_id for r in solution.routes for v in r.visits}


def check_feasible(problem: Problem, solution) -> None:
    """Every route within its vehicle's capacity, shift and windows (a late visit only for a
    job marked late_ok), each job at most once and only on a vehicle that may serve it."""
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    seen: set[str] = set()
    for route in solution.routes:
        vehicle = vehicles[route.vehicle_id]
        assert route.start >= vehicle.shift[0]
        assert route.end <= vehicle.shift[1] - vehicle.break_s
        parcels = sum(jobs[v.job_id].parcels for v in route.visits)
        kg = sum(jobs[v.job_id].kg for v in route.visits)
        if vehicle.capacity_parcels is not None:
            assert parcels <= vehicle.capacity_parcels
        if vehicle.capacity_kg is not None:
            assert kg <= vehicle.capacity_kg + 1e-9
        for visit in route.visits:
            job = jobs[visit.job_id]
            assert visit.job_id not in seen
            seen.add(visit.job_id)
            assert vehicle.can_serve(job)
            if job.window and not job.late_ok:
                assert job.window[0] <= visit.start <= job.window[1]
    assert not seen & set(solution.unassigned)


def test_capacity_splits_work_and_reports_the_rest():
    jobs = grid(12, parcels=2)
    problem = Problem(jobs, [van("a", capacity_parcels=10), van("b", capacity_parcels=10)])
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    assert len(served(solution)) == 10
    assert set(solution.unassigned.values()) == {"no_capacity"}


def test_a_job_larger_than_every_vehicle_is_no_capacity():
    problem = Problem([*grid(2), Job("big", HUB, parcels=50)], [van("a", capacity_parcels=20)])
    solution, _ = solve(problem)
    assert solution.unassigned == {"big": "no_capacity"}


def test_kilograms_are_a_capacity_too():
    jobs = grid(6, kg=30.0)
    problem = Problem(jobs, [van("a", capacity_kg=100.0)])
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    assert len(served(solution)) == 3


def test_windows_are_kept_and_an_impossible_one_is_reported():
    jobs = [
        *grid(4, window=(9 * HOUR, 10 * HOUR)),
        *grid(4, start=4, window=(15 * HOUR, 16 * HOUR)),
        Job("dawn", Place(13.41, 52.51), window=(2 * HOUR, 3 * HOUR)),
    ]
    problem = Problem(jobs, [van("a")])
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    assert len(served(solution)) == 8
    assert solution.unassigned == {"dawn": "window_unreachable"}
    visits = {v.job_id: v for r in solution.routes for v in r.visits}
    assert all(9 * HOUR <= visits[f"j{i}"].start <= 10 * HOUR for i in range(4))


def test_the_shift_bounds_the_day_and_the_break_shortens_it():
    jobs = grid(10, service_s=20 * 60)  # 10 x 20 min = 200 min of service
    problem = Problem(jobs, [van("a", shift=(8 * HOUR, 11 * HOUR), break_s=30 * 60)])
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    assert 0 < len(served(solution)) < 10
    assert set(solution.unassigned.values()) == {"window_unreachable"}


def test_skills_send_each_job_to_a_driver_who_has_them():
    jobs = [*grid(3), *grid(2, start=3, skills=frozenset({"age_check"}))]
    jobs.append(Job("frozen", HUB, skills=frozenset({"cold_chain"})))
    problem = Problem(jobs, [van("plain"), van("checker", skills=frozenset({"age_check"}))])
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    where = served(solution)
    assert where["j3"] == where["j4"] == "checker"
    assert solution.unassigned == {"frozen": "no_driver_with_skills"}


def test_zones_limit_drivers_and_zoneless_shipments_are_outside_every_zone():
    north = grid(3, zone="north")
    south = grid(3, start=3, zone="south")
    stray = Job("stray", HUB, zone=None, outside_zones=True)
    problem = Problem(
        [*north, *south, stray],
        [van("n", zones=frozenset({"north"})), van("s", zones=frozenset({"south"}))],
    )
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    where = served(solution)
    assert {where[j.id] for j in north} == {"n"} and {where[j.id] for j in south} == {"s"}
    assert solution.unassigned == {"stray": "outside_every_zone"}


def test_loaded_parcels_stay_on_their_vehicle():
    jobs = [*grid(4, pinned_to="b"), *grid(4, start=4)]
    jobs.append(Job("gone", HUB, pinned_to="not-in-plan"))
    problem = Problem(jobs, [van("a"), van("b")])
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    assert all(served(solution)[f"j{i}"] == "b" for i in range(4))
    assert solution.unassigned == {"gone": "loaded_on_other_vehicle"}


def test_optional_jobs_are_left_out_when_they_cost_more_than_their_penalty():
    far = Job("far", Place(13.90, 52.90), penalty=10)  # ~60 km away, worth 10 m
    near = Job("near", Place(13.401, 52.501), penalty=1_000_000)
    problem = Problem([far, near], [van("a")])
    solution, _ = solve(problem)
    assert served(solution) == {"near": "a"}
    assert solution.unassigned == {"far": "optional_not_worth_it"}


def test_late_ok_keeps_carried_parcels_on_the_route_and_marks_them_late():
    problem = Problem(
        [Job("late", Place(13.41, 52.51), window=(0, 60), late_ok=True, pinned_to="a")],
        [van("a")],
    )
    solution, _ = solve(problem)
    visit = solution.routes[0].visits[0]
    assert visit.job_id == "late" and visit.late


@pytest.mark.parametrize("objective", ["distance", "duration", "balanced"])
def test_every_objective_solves(objective):
    problem = Problem(grid(8), [van("a"), van("b", kind="cargo_bike")], objective=objective)
    solution, _ = solve(problem)
    check_feasible(problem, solution)
    assert len(served(solution)) == 8


def test_without_drivers_everything_waits_for_a_vehicle():
    problem = Problem(grid(3), [])
    solution = solve_problem(problem, {}, time_limit_s=0.1)
    assert solution.routes == [] and set(solution.unassigned.values()) == {"no_vehicle_available"}
