"""The planner's own view of a day: jobs (stops to make), vehicles (drivers with what they drive)
and the plan that comes back. Plain data, no database and no solver: the service builds a
`Problem` from our tables, `solver.solve_problem` turns it into a `Solution`.

Times are whole seconds from the plan's origin (midnight UTC of its date), distances metres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Objective = Literal["distance", "duration", "balanced"]

# Why a job is left out of a plan; docs/planning.md explains each to dispatchers.
UNASSIGNED_REASONS = (
    "outside_every_zone",  # in no zone, or in no zone any driver of the plan may serve
    "no_driver_with_skills",  # needs a skill (age check, heavy, cold chain) no driver has
    "no_capacity",  # larger than any vehicle, or the fleet is full
    "window_unreachable",  # no driver can reach it inside its window and shift
    "loaded_on_other_vehicle",  # its parcels are on a vehicle that is not in the plan
    "no_vehicle_available",  # no driver in the plan, or (recovery) no spare to send for it
    "optional_not_worth_it",  # optional, and serving it costs more than leaving it
)


@dataclass(frozen=True, slots=True)
class Place:
    """A point: longitude/latitude for the geographic providers, x/y for the planar one."""

    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    place: Place
    parcels: int = 1
    kg: float = 0.0
    service_s: int = 0
    window: tuple[int, int] | None = None
    skills: frozenset[str] = frozenset()
    zone: str | None = None
    outside_zones: bool = False
    # The vehicle its parcels are already on: only that vehicle may take it.
    pinned_to: str | None = None
    # Only these vehicles may take it (None: any), e.g. the ones sent to a broken-down van.
    only_vehicles: frozenset[str] | None = None
    # Its parcels are on the vehicle already: better late than taken off (recovery only).
    late_ok: bool = False
    # None: the job must be served. Otherwise optional, and leaving it out costs this much
    # (in the objective's units: metres, seconds, or their sum).
    penalty: int | None = None


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: str
    start: Place
    end: Place
    shift: tuple[int, int]
    kind: str = "van"
    capacity_parcels: int | None = None
    capacity_kg: float | None = None
    skills: frozenset[str] = frozenset()
    # None: any zone; otherwise only jobs in these zones.
    zones: frozenset[str] | None = None
    break_s: int = 0
    fixed_cost: int = 0

    def can_serve(self, job: Job) -> bool:
        if job.pinned_to is not None and job.pinned_to != self.id:
            return False
        if job.only_vehicles is not None and self.id not in job.only_vehicles:
            return False
        if not job.skills <= self.skills:
            return False
        return self.zones is None or (job.zone is not None and job.zone in self.zones)


@dataclass(slots=True)
class Problem:
    jobs: list[Job]
    vehicles: list[Vehicle]
    objective: Objective = "distance"


@dataclass(frozen=True, slots=True)
class Visit:
    job_id: str
    arrival: int
    start: int
    departure: int
    late: bool = False


@dataclass(slots=True)
class PlannedRoute:
    vehicle_id: str
    visits: list[Visit]
    start: int
    end: int
    distance_m: int
    duration_s: int
    parcels: int
    kg: float


@dataclass(slots=True)
class Solution:
    routes: list[PlannedRoute]
    unassigned: dict[str, str] = field(default_factory=dict)  # job id -> reason
    cost: int = 0
    feasible: bool = True
    iterations: int = 0
