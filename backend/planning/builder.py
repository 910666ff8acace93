"""From our rows to the planner's `Problem`, and from its `Solution` back to a plan's JSON.

A plan's clock starts at midnight UTC of its date (`origin`); windows and shifts become seconds
from there. Service time per stop: a base by handoff kind (doorstep, signature, age check) plus
a time per extra parcel. Skills a shipment needs: `age_check` (a minimum age), `cold_chain`,
`heavy` (a parcel above `LASTMILE_PLANNING_HEAVY_KG`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import Row

from backend.planning.problem import Job, Place, Problem, Solution, Vehicle
from backend.planning.settings import PlanningSettings

DAY_S = 86_400


def origin_of(date: dt.date) -> dt.datetime:
    return dt.datetime.combine(date, dt.time(0), tzinfo=dt.UTC)


def seconds(at: dt.datetime, origin: dt.datetime) -> int:
    return int((at - origin).total_seconds())


@dataclass
class Built:
    """A problem and what is needed to read its solution back."""

    problem: Problem
    origin: dt.datetime
    # Shipments asked for but not plannable at all (closed meanwhile, another hub's …).
    unplannable: dict[str, str] = field(default_factory=dict)
    # What the purpose's finisher needs besides the solution (recovery: affected work, …).
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def kinds(self) -> set[str]:
        return {v.kind for v in self.problem.vehicles}


def skills_needed(row: Row, settings: PlanningSettings) -> frozenset[str]:
    requirements = row.requirements or {}
    skills = set()
    if requirements.get("min_age"):
        skills.add("age_check")
    if requirements.get("cold_chain"):
        skills.add("cold_chain")
    if float(row.max_kg or 0) > settings.heavy_kg:
        skills.add("heavy")
    return frozenset(skills)


def service_seconds(row: Row, settings: PlanningSettings) -> int:
    requirements = row.requirements or {}
    if requirements.get("min_age"):
        kind = "age_check"
    elif requirements.get("signature") or requirements.get("pin"):
        kind = "signature"
    else:
        kind = "doorstep"
    extra = max(int(row.parcels or 1) - 1, 0) * settings.per_parcel_seconds
    return int(settings.service_seconds.get(kind, 60) + extra)


def job_of(
    row: Row,
    origin: dt.datetime,
    settings: PlanningSettings,
    *,
    pinned_to: str | None = None,
    penalty: int | None = None,
    not_before: int | None = None,
) -> Job:
    window = None
    if row.window_start is not None or row.window_end is not None:
        start = seconds(row.window_start, origin) if row.window_start is not None else 0
        end = seconds(row.window_end, origin) if row.window_end is not None else 2 * DAY_S
        # Plan to be there a margin before the window closes: a few minutes of traffic must
        # not make a planned stop late (a window shorter than the margin keeps its start).
        end = max(end - settings.window_margin_s, start)
        window = (max(start, 0), max(min(end, 2 * DAY_S), 0))
    if not_before is not None:
        window = (max(window[0] if window else 0, not_before), window[1] if window else 2 * DAY_S)
    return Job(
        id=str(row.id),
        place=Place(float(row.lon), float(row.lat)),
        parcels=max(int(row.parcels or 0), 1),
        kg=float(row.kg or 0),
        service_s=service_seconds(row, settings),
        window=window,
        skills=skills_needed(row, settings),
        zone=str(row.zone_id) if row.zone_id else None,
        outside_zones=bool(row.outside_zones) or row.zone_id is None,
        pinned_to=pinned_to,
        penalty=penalty,
    )


def vehicle_of(
    row: Row,
    hub: Place,
    origin: dt.datetime,
    settings: PlanningSettings,
    *,
    start: Place | None = None,
    not_before: int | None = None,
) -> Vehicle:
    shift_start = row.shift_start or settings.default_shift[0]
    shift_end = row.shift_end or settings.default_shift[1]
    begin = seconds(dt.datetime.combine(origin.date(), shift_start, tzinfo=dt.UTC), origin)
    end = seconds(dt.datetime.combine(origin.date(), shift_end, tzinfo=dt.UTC), origin)
    if not_before is not None:
        begin = max(begin, not_before)
    home = Place(float(row.start_lon), float(row.start_lat)) if row.start_lon is not None else hub
    finish = Place(float(row.end_lon), float(row.end_lat)) if row.end_lon is not None else hub
    return Vehicle(
        id=str(row.id),
        start=start or home,
        end=finish,
        shift=(begin, max(end, begin)),
        kind=row.kind or "van",
        capacity_parcels=row.capacity_parcels,
        # numeric in the database: a Decimal would not add up with the jobs' float kilograms
        capacity_kg=float(row.capacity_kg) if row.capacity_kg is not None else None,
        skills=frozenset(row.skills or ()),
        zones=frozenset(row.zone_ids) if row.zone_ids is not None else None,
        break_s=int(row.break_minutes or 0) * 60,
    )


def result_json(
    solution: Solution,
    origin: dt.datetime,
    extra_unassigned: dict[str, str] | None = None,
    vehicles: Sequence[Vehicle] = (),
) -> dict[str, Any]:
    def at(s: int) -> str:
        return (origin + dt.timedelta(seconds=s)).isoformat()

    unassigned = dict(solution.unassigned) | (extra_unassigned or {})
    starts = {v.id: [v.start.lon, v.start.lat] for v in vehicles}
    return {
        "routes": [
            {
                "driver_id": route.vehicle_id,
                "start_location": starts.get(route.vehicle_id),
                "start": at(route.start),
                "end": at(route.end),
                "distance_m": route.distance_m,
                "duration_s": route.duration_s,
                "parcels": route.parcels,
                "kg": route.kg,
                "stops": [
                    {
                        "shipment_id": visit.job_id,
                        "sequence": n,
                        "arrival": at(visit.arrival),
                        "start": at(visit.start),
                        "departure": at(visit.departure),
                        "late": visit.late,
                    }
                    for n, visit in enumerate(route.visits, start=1)
                ],
            }
            for route in solution.routes
        ],
        "unassigned": [
            {"shipment_id": sid, "reason": reason} for sid, reason in sorted(unassigned.items())
        ],
        "cost": solution.cost,
        "feasible": solution.feasible,
        "iterations": solution.iterations,
    }


def ids(values: Iterable[Any]) -> list[UUID]:
    return [UUID(str(v)) for v in values]


def by_id(rows: Sequence[Row]) -> dict[UUID, Row]:
    return {row.id: row for row in rows}
