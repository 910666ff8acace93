import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Point
from backend.manifests.schemas import RouteRead

Objective = Literal["distance", "duration", "balanced"]
PlanStatus = Literal["queued", "solving", "done", "failed"]
Skill = Literal["age_check", "heavy", "cold_chain"]
MAX_PLAN_SHIPMENTS = 5_000
MAX_PLAN_DRIVERS = 500


class PlanCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    hub_id: UUID
    date: dt.date
    # Default: every unrouted shipment of the hub for that date.
    shipment_ids: (
        Annotated[list[UUID], Meta(min_length=1, max_length=MAX_PLAN_SHIPMENTS)] | None
    ) = None
    # Default: every active driver of the hub not already on a published route that day.
    driver_ids: Annotated[list[UUID], Meta(min_length=1, max_length=MAX_PLAN_DRIVERS)] | None = None
    time_limit_s: Annotated[float, Meta(gt=0, le=3600)] = 10.0
    objective: Objective = "distance"
    # Standard shipments become optional: leaving one out costs this much (metres, seconds or
    # their sum, as the objective counts). Express and same-day ones stay required.
    optional_penalty: Annotated[int, Meta(ge=1, le=100_000_000)] | None = None


class PlanStop(msgspec.Struct):
    shipment_id: UUID
    sequence: int
    arrival: dt.datetime
    start: dt.datetime
    departure: dt.datetime
    late: bool = False


class PlanRoute(msgspec.Struct):
    driver_id: UUID
    start_location: list[float] | None  # [lon, lat] where the route begins    start: dt.datetime
    end: dt.datetime
    distance_m: int
    duration_s: int
    parcels: int
    kg: float
    stops: list[PlanStop]


class Unassigned(msgspec.Struct):
    shipment_id: UUID
    reason: str


class PlanRead(msgspec.Struct):
    id: UUID
    hub_id: UUID
    date: dt.date
    purpose: Literal["plan", "recovery"]
    status: PlanStatus
    objective: Objective
    time_limit_s: float
    best_cost: int | None
    elapsed_s: float | None
    attempts: int
    routes: list[PlanRoute]
    unassigned: list[Unassigned]
    cost: int | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    applied_at: dt.datetime | None


class PlanApplied(msgspec.Struct):
    plan_id: UUID
    routes: list[RouteRead]


class DriverPlanningIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    shift_start: dt.time
    shift_end: dt.time
    break_minutes: Annotated[int, Meta(ge=0, le=240)] = 0
    skills: Annotated[list[Skill], Meta(max_length=3)] = msgspec.field(default_factory=list)
    # None: any zone of the hub.
    zone_ids: Annotated[list[UUID], Meta(max_length=200)] | None = None
    start_location: Point | None = None
    end_location: Point | None = None


class DriverPlanningRead(msgspec.Struct):
    driver_id: UUID
    shift_start: dt.time
    shift_end: dt.time
    break_minutes: int
    skills: list[str]
    zone_ids: list[UUID] | None
    start_location: Point | None
    end_location: Point | None
