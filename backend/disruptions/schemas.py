import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from backend.lib.geo import Point

Mode = Literal["live", "drill"]


class _Disruption(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, tag_field="kind"):
    mode: Mode
    # Apply the recovery as soon as it is ready, if the hub's contingency settings allow it.
    auto_apply: bool = False
    # When it happened (default now; at most 48 h ago): the recovery re-plans that day from then.
    at: dt.datetime | None = None


class VehicleBreakdown(_Disruption, tag="vehicle_breakdown"):
    driver_id: UUID
    # Where the van stands (default: the driver's latest position).
    location: Point | None = None


class DriverUnavailable(_Disruption, tag="driver_unavailable"):
    driver_id: UUID


class HubClosed(_Disruption, tag="hub_closed"):
    hub_id: UUID
    until: dt.datetime
    fallback_hub_id: UUID | None = None


class ZoneClosed(_Disruption, tag="zone_closed"):
    zone_id: UUID
    until: dt.datetime
    reason: Literal["weather", "police", "event"]


class VolumeSpike(_Disruption, tag="volume_spike"):
    hub_id: UUID
    extra: Annotated[int, Meta(ge=1, le=10_000)]


DisruptionCreate = VehicleBreakdown | DriverUnavailable | HubClosed | ZoneClosed | VolumeSpike


class Timeline(msgspec.Struct):
    detected_at: dt.datetime
    plan_ready_at: dt.datetime | None
    applied_at: dt.datetime | None
    recovered_at: dt.datetime | None


class Impact(msgspec.Struct):
    affected: int
    kept_in_window: int
    late: int
    handed_over: int
    rescheduled: int
    extra_km: float
    extra_cost: float
    spare_drivers_used: int
    # Partner carriers whose service area covers stops no vehicle takes: the hub's
    # `partner_order` first, then the others.
    partner_candidates: list[str]
    # Couriers the recovery gives work to, through an offer each.
    couriers_offered: int = 0


class Outcome(msgspec.Struct):
    affected: int
    delivered_in_window: int
    delivered_late: int
    not_delivered: int
    share_in_window: float


class DisruptionRead(msgspec.Struct):
    id: UUID
    kind: str
    mode: Mode
    status: Literal["planning", "ready", "applied", "failed", "dismissed"]
    hub_id: UUID
    date: dt.date
    details: dict[str, Any]
    auto_apply: bool
    plan_id: UUID | None
    affected_shipment_ids: list[UUID]
    impact: Impact | None
    outcome: Outcome | None
    timeline: Timeline


class ContingencyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    spare_driver_ids: Annotated[list[UUID], Meta(max_length=200)] = msgspec.field(
        default_factory=list
    )
    fallback_hub_id: UUID | None = None
    # Partner ids, most preferred first (used once partner handover exists).
    partner_order: Annotated[list[UUID], Meta(max_length=50)] = msgspec.field(default_factory=list)
    auto_apply: bool = False
    recovery_time_limit_s: Annotated[int, Meta(ge=1, le=120)] = 5


class ContingencyRead(msgspec.Struct):
    hub_id: UUID
    spare_driver_ids: list[UUID]
    fallback_hub_id: UUID | None
    partner_order: list[UUID]
    auto_apply: bool
    recovery_time_limit_s: int
